"""The cloud's OpenAPI document: every route, its models and the statuses it may answer."""

from typing import Any

from sync.cloud.backoffice.models import (
    BatchIn,
    BatchList,
    BatchOut,
    InsertClaimIn,
    PlanOut,
    VoucherIn,
)
from sync.cloud.handlers import RedeemIn
from sync.cloud.identity_http import MergeIn, MergeOut
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
from sync.cloud.poster_webhook import PosterLinkIn, PosterLinkOut, PosterWebhook, WebhookAnswer
from sync.cloud.rewards_http import TillRedeemIn
from sync.cloud.store.privacy import CustomerExport, ErasureOut
from sync.contract.events import BatchResult, CardState, EventBatch, SyncState
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
    Operation("GET", "/v1/customers/{id}/export",
              "Everything kept about one customer, as JSON (admin; a data-protection request)",
              {200: CustomerExport, 403: _E, 404: _E}, tags=("customers",)),
    Operation("DELETE", "/v1/customers/{id}",
              "Erase a customer's personal data here and at every till; figures stay (admin; "
              "idempotent)", {200: ErasureOut, 403: _E, 404: _E}, tags=("customers",)),
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
    Operation("GET", "/v1/sync/card", "One card (balance, open rewards) for a till's quote",
              {200: CardState, 403: _E, 404: _E, 422: _E},
              query={k: {"required": False, "schema": {"type": "string", "maxLength": 254}}
                     for k in ("card", "number", "email")},
              tags=("sync",)),
    Operation("POST", "/v1/rewards/{code}/redeem", "A till redeems a reward once (device key)",
              {200: RedeemOut, 403: _E, 404: _E, 409: _E, 410: _E}, request=TillRedeemIn,
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
    Operation("POST", "/v1/vouchers", "One voucher or insert code: a link, or onto a customer's "
              "card (admin; 402 past the plan)", {201: BatchOut, 402: _E, 403: _E, 404: _E},
              request=VoucherIn, tags=("back office",)),
    Operation("POST", "/v1/vouchers/batch", "A batch of single-use vouchers or delivery inserts "
              "(admin; 402 past the plan)", {201: BatchOut, 402: _E, 403: _E, 404: _E},
              request=BatchIn, tags=("back office",)),
    Operation("GET", "/v1/vouchers/batch", "The latest batches with printed, claimed, redeemed "
              "and conversion (admin)", {200: BatchList, 403: _E}, tags=("back office",)),
    *[Operation("GET", f"/v1/vouchers/batch/{{id}}.{fmt}", f"A batch as {what} (admin)",
                {200: media, 403: _E, 404: _E, 422: _E},
                query={"layout": {"required": False,
                                  "schema": {"enum": ["labels", "flyers"]}}} if fmt == "pdf"
                else {}, tags=("back office",))
      for fmt, media, what in (
          ("pdf", "application/pdf", "a PDF of A4 labels or A6 flyers"),
          ("csv", "text/csv", "CSV"),
          ("escpos", "application/octet-stream", "an ESC/POS job for a receipt printer"))],
    Operation("POST", "/v1/inserts/{code}", "Claim a voucher or delivery-insert code once",
              {201: ClaimOut, 404: _E, 409: _E, 410: _E}, request=InsertClaimIn,
              request_required=False, auth=False, tags=("claims",)),
    Operation("GET", "/I/{code}", "The page a phone opens from an insert or voucher QR",
              {200: "text/html", 404: "text/html", 409: "text/html", 410: "text/html"},
              auth=False, tags=("claims",)),
    Operation("GET", "/I", "Where a customer types the code printed under an insert's QR",
              {200: "text/html", 303: None, 422: "text/html"},
              query={"code": {"required": False, "schema": {"type": "string"}}}, auth=False,
              tags=("claims",)),
    Operation("GET", "/v1/plan", "The plan, this month's card operations and overrun, seats "
              "(admin)", {200: PlanOut, 403: _E}, tags=("back office",)),
    Operation("PUT", "/v1/integrations/poster", "Take a Poster account's webhooks (admin)",
              {200: PosterLinkOut, 403: _E, 404: _E}, request=PosterLinkIn, tags=("poster",)),
    Operation("GET", "/v1/integrations/poster", "The business's Poster link (admin)",
              {200: PosterLinkOut, 403: _E, 404: _E}, tags=("poster",)),
    Operation("POST", "/integrations/poster/{business_id}/webhook",
              "A webhook from Poster, signed with its md5 verify",
              {200: WebhookAnswer, 403: _E, 404: _E, 422: _E, 503: _E}, request=PosterWebhook,
              auth=False, tags=("poster",)),
    Operation("POST", "/v1/cards/{card_code}/merge", "Merge this card into another of the same "
              "person (admin); its code stays an alias", {200: MergeOut, 403: _E, 404: _E,
              409: _E, 422: _E}, request=MergeIn, tags=("customers",)),
    Operation("GET", "/signin/{token}", "The page a mailed sign-in link opens (one button; "
              "its POST spends the link)", {200: "text/html", 404: "text/html",
              409: "text/html", 410: "text/html"}, auth=False, tags=("customers",)),
    Operation("GET", "/health", "Liveness and database check", {200: None, 503: _E}, auth=False),
    Operation("GET", "/metrics", "Prometheus metrics", {200: "text/plain"}, auth=False),
]  # fmt: skip


def openapi_document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the cloud store."""
    return build_openapi("Stampedge cloud store", version, OPERATIONS, bearer=True, error_model=_E)
