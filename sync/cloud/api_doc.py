"""The cloud's OpenAPI document: every route, its models and the statuses it may answer."""

from typing import Any

from sync.cloud.handlers import RedeemIn
from sync.cloud.models import (
    AdminKeyOut,
    BranchIn,
    BranchList,
    BranchOut,
    CardOut,
    ClaimIn,
    ClaimOut,
    ClaimPending,
    CustomerIn,
    CustomerList,
    CustomerOut,
    DeviceIn,
    DeviceList,
    DeviceOut,
    DeviceState,
    ErrorOut,
    ProgramConfig,
    RedeemOut,
    StampIn,
    StampOut,
    StatsOut,
)
from sync.contract.events import BatchResult, EventBatch, SyncState
from sync.web.openapi import Operation, build_openapi

_E = ErrorOut
_DATE = {"type": "string", "format": "date"}

OPERATIONS = [
    Operation("POST", "/v1/sync/events", "A device's batch of events", {200: BatchResult, 403: _E},
              request=EventBatch, tags=("sync",)),
    Operation("GET", "/v1/sync/state", "Program and changed cards for the device's branch",
              {200: SyncState, 403: _E, 422: _E},
              query={"cursor": {"required": False, "schema": {"type": "integer", "minimum": 0}}},
              tags=("sync",)),
    Operation("POST", "/v1/customers", "A new customer and card",
              {201: CustomerOut, 403: _E, 409: _E}, request=CustomerIn, tags=("customers",)),
    Operation("GET", "/v1/customers", "Find customers by card code, number, email or name",
              {200: CustomerList, 422: _E},
              query={"q": {"required": True, "schema": {"type": "string", "minLength": 1,
                                                         "maxLength": 200}}},
              tags=("customers",)),
    Operation("GET", "/v1/cards/{card_code}",
              "A card and its rewards (a key of its business, or the card's link signature)",
              {200: CardOut, 401: _E, 404: _E, 422: _E},
              query={"sig": {"required": False, "schema": {"type": "string", "maxLength": 64}}},
              auth=False, tags=("customers",)),
    Operation("POST", "/v1/stamps", "Stamp a card by order (API channel), idempotent",
              {200: StampOut, 201: StampOut, 403: _E, 404: _E, 409: _E}, request=StampIn,
              tags=("customers",)),
    Operation("POST", "/v1/claims/{token}", "Claim a receipt QR",
              {201: ClaimOut, 202: ClaimPending, 404: _E, 409: _E, 410: _E}, request=ClaimIn,
              request_required=False, auth=False, tags=("claims",)),
    Operation("GET", "/c/{token}", "The claim page a phone opens", {200: "text/html",
              404: "text/html", 410: "text/html", 409: "text/html"}, auth=False, tags=("claims",)),
    Operation("POST", "/v1/vouchers/{code}/redeem", "Redeem a gift or voucher once",
              {200: RedeemOut, 404: _E, 409: _E, 410: _E}, request=RedeemIn,
              request_required=False, tags=("rewards",)),
    Operation("POST", "/v1/branches", "A new branch (admin)", {201: BranchOut, 403: _E},
              request=BranchIn, tags=("admin",)),
    Operation("GET", "/v1/branches", "Branches and programs (a device: its own)",
              {200: BranchList}, tags=("admin",)),
    Operation("PUT", "/v1/branches/{id}/program", "Change a branch's program (admin)",
              {200: BranchOut, 403: _E, 404: _E}, request=ProgramConfig, tags=("admin",)),
    Operation("POST", "/v1/devices", "A new device key, shown once (admin)",
              {201: DeviceOut, 403: _E, 404: _E}, request=DeviceIn, tags=("admin",)),
    Operation("POST", "/v1/admin-key",
              "A new admin key, shown once; the old one stops working at once (admin)",
              {201: AdminKeyOut, 403: _E}, tags=("admin",)),
    Operation("GET", "/v1/devices", "The business's devices, without keys (admin)",
              {200: DeviceList, 403: _E}, tags=("admin",)),
    Operation("DELETE", "/v1/devices/{id}", "Revoke a device key (admin)",
              {200: DeviceState, 403: _E, 404: _E}, tags=("admin",)),
    Operation("GET", "/v1/stats", "Figures per day and per device",
              {200: StatsOut, 403: _E, 404: _E, 422: _E},
              query={"branch": {"required": False, "schema": {"type": "integer", "minimum": 1}},
                     "from": {"required": False, "schema": _DATE},
                     "to": {"required": False, "schema": _DATE}},
              tags=("figures",)),
    Operation("GET", "/health", "Liveness and database check", {200: None, 503: _E}, auth=False),
    Operation("GET", "/metrics", "Prometheus metrics", {200: "text/plain"}, auth=False),
]  # fmt: skip


def openapi_document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the cloud store."""
    return build_openapi("Stampedge cloud store", version, OPERATIONS, bearer=True, error_model=_E)
