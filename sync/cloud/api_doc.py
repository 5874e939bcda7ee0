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
    HealthOut,
    ProgramConfig,
    RedeemOut,
    StampIn,
    StampOut,
    StatsOut,
)
from sync.cloud.poster_webhook import PosterLinkIn, PosterLinkOut, PosterWebhook, WebhookAnswer
from sync.cloud.rewards_http import TillRedeemIn
from sync.cloud.store.privacy import CustomerExport, ErasureOut
from sync.cloud.wallet.bodies import LogBody, Registration
from sync.contract.events import BatchResult, CardState, EventBatch, SyncState
from sync.web.openapi import Body, Operation, build_openapi

_E = ErrorOut
_DATE = {"type": "string", "format": "date"}

OPERATIONS = [
    Operation("POST", "/v1/sync/events", "A device's batch of events", {200: BatchResult, 403: _E},
              request=EventBatch, tags=("sync",)),
    Operation("GET", "/v1/sync/state", "Program and changed cards for the device's branch "
              "(an answer without cards has an ETag; If-None-Match with it: 304 while unchanged)",
              {200: SyncState, 304: None, 403: _E, 422: _E},
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
    Operation("POST", "/card/export", "The customer's own data as a JSON download "
              "(the phone's card cookie, a verified email; a form post)",
              {200: CustomerExport, 401: "text/html", 403: "text/html"}, auth=False,
              tags=("customers",)),
    Operation("POST", "/card/erase", "Erase the phone's card and its customer's data "
              "(the card cookie, a verified email, the form's confirm=yes)",
              {200: "text/html", 401: "text/html", 403: "text/html", 422: "text/html"},
              auth=False, tags=("customers",)),
    Operation("GET", "/signin/{token}", "The page a mailed sign-in link opens (one button; "
              "its POST spends the link)", {200: "text/html", 404: "text/html",
              409: "text/html", 410: "text/html"}, auth=False, tags=("customers",)),
    Operation("GET", "/health", "Liveness, database and disk check", {200: HealthOut, 503: _E},
              auth=False),
    Operation("GET", "/openapi.json", "This document", {200: "application/json", 304: None},
              auth=False),
    Operation("GET", "/metrics", "Prometheus metrics", {200: "text/plain"}, auth=False),
]  # fmt: skip


_HTML = "text/html"


def _pages(*html: int, redirect: int | None = None, error: tuple[int, ...] = ()) -> dict[int, Body]:
    """A page's answers: HTML pages with these statuses, a redirect, JSON errors (the guard)."""
    out: dict[int, Body] = dict.fromkeys(html, _HTML)
    if redirect is not None:
        out[redirect] = None
    out.update(dict.fromkeys(error, _E))
    return out


_CLAIM = _pages(200, 404, 409, 410)
_CLAIMED = _pages(404, 409, 410, 429, redirect=303)
_INSERTED = _pages(404, 409, 410, redirect=303)  # codes are not throttled like receipt tokens
_FORM = _pages(401, redirect=303, error=(403, 422))  # 401: the sign-in page (no session)
_NO_QUERY: dict[str, dict[str, Any]] = {}
_CODE_QUERY = {"code": {"required": False, "schema": {"type": "string"}}}
_DAYS_QUERY = {
    "from": {"required": False, "schema": _DATE},
    "to": {"required": False, "schema": _DATE},
}
_PROGRAM_FIELDS = (
    "csrf", "action", "rule", "step", "stamps_per_order", "min_total", "max_stamps_per_order",
    "goal", "currency", "reward", "reward_name", "voucher_valid_days", "activation_delay_hours",
    "lottery_budget",
)  # fmt: skip
# The pages and forms people use (phones, the owner's dashboard and back office): served to
# browsers, documented so the spec names every route (a form posts urlencoded fields and
# answers with a redirect, POST-redirect-GET, or a page saying what was wrong). Each is
# (method, path, summary, answers, form fields or None, query).
_PageRoute = tuple[str, str, str, dict[int, Body], tuple[str, ...] | None, dict[str, Any]]
_PAGE_ROUTES: list[_PageRoute] = [
    ("POST", "/c/{token}", "The claim page's button: claim, then back to the page", _CLAIMED,
     (), _NO_QUERY),
    ("GET", "/C/{token}", "The claim page (the upper-case form a QR carries)", _CLAIM, None,
     _NO_QUERY),
    ("POST", "/C/{token}", "The claim page's button (upper-case form)", _CLAIMED, (), _NO_QUERY),
    ("POST", "/I/{code}", "The insert page's button: claim onto this phone's card, then back "
     "to the page", _INSERTED, (), _NO_QUERY),
    ("GET", "/i", "The code-typing page (lower-case form)", _pages(200, 422, redirect=303),
     None, _CODE_QUERY),
    ("GET", "/i/{code}", "The insert page (lower-case form)", _CLAIM, None, _NO_QUERY),
    ("POST", "/i/{code}", "The insert page's button (lower-case form)", _INSERTED, (),
     _NO_QUERY),
    ("GET", "/card", "This phone's card (kept in a cookie), or how to find it", _pages(200, 404),
     None, _NO_QUERY),
    ("GET", "/card/{card_code}/{sig}", "A card's private page (its signed link)",
     _pages(200, 404), None, _NO_QUERY),
    ("GET", "/dashboard", "The owner's figures (signed session), or its sign-in form",
     _pages(200, 401), None, _DAYS_QUERY),
    ("POST", "/dashboard/login", "Sign in with the admin key", _pages(401, redirect=303,
     error=(403,)), ("key",), _NO_QUERY),
    ("POST", "/dashboard/logout", "Sign out (on the server; everywhere=1: every session)", _FORM,
     ("csrf", "everywhere"), _NO_QUERY),
    ("GET", "/backoffice", "The back office (signed session)", _pages(200, 401, redirect=303), None,
     _NO_QUERY),
    ("POST", "/backoffice/program/{id}", "Preview or save a branch's program", _FORM,
     _PROGRAM_FIELDS, _NO_QUERY),
    ("POST", "/backoffice/keys", "A new device key, shown once", {200: _HTML, **_FORM},
     ("csrf", "label", "branch_id"), _NO_QUERY),
    ("POST", "/backoffice/keys/{id}/revoke", "Revoke a device key", _FORM, ("csrf",), _NO_QUERY),
    ("POST", "/backoffice/batches", "A batch of vouchers or inserts", _FORM,
     ("csrf", "count", "kind", "stamps", "title", "valid_days"), _NO_QUERY),
    ("POST", "/backoffice/voucher", "One voucher, as a link or onto a card", _FORM,
     ("csrf", "customer", "title", "valid_days"), _NO_QUERY),
    ("POST", "/backoffice/logout", "Sign out (on the server; everywhere=1: every session)",
     _FORM, ("csrf", "everywhere"), _NO_QUERY),
    # customers who own their card (issue #19, ``identity_http.py``): each answer a page
    ("POST", "/card/email", "Mail a sign-in link to this address (recovery or attach)",
     _pages(200, 404, 422, 429, error=(403,)), ("email",), _NO_QUERY),
    ("POST", "/card/phone", "The phone the till finds this card by (empty removes it)",
     _pages(404, 409, 422, redirect=303, error=(403,)), ("phone",), _NO_QUERY),
    ("POST", "/card/consent", "Save this card's marketing consent", _pages(404, redirect=303,
     error=(403,)), ("email", "wallet"), _NO_QUERY),
    ("POST", "/c/{token}/email", "Give an email on the claim page: a sign-in link is mailed",
     _pages(200, 404, 409, 410, 422, 429, error=(403,)), ("email",), _NO_QUERY),
    ("POST", "/C/{token}/email", "Give an email on the claim page (upper-case form)",
     _pages(200, 404, 409, 410, 422, 429, error=(403,)), ("email",), _NO_QUERY),
    ("POST", "/signin/{token}", "Spend a mailed sign-in link: this phone gets the card",
     _pages(404, 409, 410, redirect=303, error=(403,)), (), _NO_QUERY),
    ("GET", "/unsubscribe/{card_code}/{channel}/{sig}", "A message's unsubscribe page",
     _pages(200, 404), None, _NO_QUERY),
    ("POST", "/unsubscribe/{card_code}/{channel}/{sig}", "No more offers on this channel "
     "(one click, RFC 8058)", _pages(200, 404, error=(403,)), ("List-Unsubscribe",), _NO_QUERY),
]  # fmt: skip
PAGE_OPERATIONS = [
    Operation(method, path, summary, answers, form=form, query=query, auth=False,
              tags=("pages",))
    for method, path, summary, answers, form, query in _PAGE_ROUTES
]  # fmt: skip

_PKPASS = "application/vnd.apple.pkpass"
_JSON: Body = "application/json"
_APPLE_BASE = "/wallet/apple/v1"
_REGISTRATIONS = _APPLE_BASE + "/devices/{device_id}/registrations/{pass_type_id}"
# Served only with ``[wallet.apple]`` (Apple's PassKit web service, its paths as Apple names
# them, authenticated by each pass's own token) and ``[wallet.google]``.
APPLE_OPERATIONS = [
    Operation("GET", "/card/{card_code}/{sig}/pass.pkpass", "The card's Apple Wallet pass",
              {200: _PKPASS, 404: _E}, auth=False, tags=("wallet",)),
    Operation("GET", "/v1/cards/{card_code}/pass.pkpass", "A card's pass (admin)",
              {200: _PKPASS, 403: _E, 404: _E}, tags=("wallet",)),
    Operation("POST", _REGISTRATIONS + "/{serial}", "PassKit: a device registers for updates",
              {200: _JSON, 201: _JSON, 401: _E}, request=Registration,
              auth=False, tags=("wallet",)),
    Operation("DELETE", _REGISTRATIONS + "/{serial}", "PassKit: a device unregisters",
              {200: _JSON, 401: _E}, auth=False, tags=("wallet",)),
    Operation("GET", _REGISTRATIONS, "PassKit: the serials updated since a tag",
              {200: _JSON, 204: None},
              query={"passesUpdatedSince": {"required": False, "schema": {"type": "string"}}},
              auth=False, tags=("wallet",)),
    Operation("GET", _APPLE_BASE + "/passes/{pass_type_id}/{serial}", "PassKit: the pass now",
              {200: _PKPASS, 304: None, 401: _E}, auth=False, tags=("wallet",)),
    Operation("POST", _APPLE_BASE + "/log", "PassKit: what devices say went wrong",
              {200: _JSON}, request=LogBody, auth=False, tags=("wallet",)),
]  # fmt: skip
GOOGLE_OPERATIONS = [
    Operation(
        "GET",
        "/card/{card_code}/{sig}/google",
        "On to Google's save page for the card",
        {302: None, 404: _E},
        auth=False,
        tags=("wallet",),
    ),
]
LOGO_OPERATION = Operation("GET", "/wallet/logo.png", "The logo Google's loyalty class shows",
                           {200: "image/png"}, auth=False, tags=("wallet",))  # fmt: skip


def operations(*, apple: bool = False, google: bool = False) -> list[Operation]:
    """Every operation the cloud serves with these wallets configured."""
    ops = [*OPERATIONS, *PAGE_OPERATIONS]
    if apple:
        ops += APPLE_OPERATIONS
    if google:
        ops += GOOGLE_OPERATIONS
    if apple or google:
        ops.append(LOGO_OPERATION)
    return ops


def openapi_document(version: str, *, apple: bool = False, google: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the cloud store (with the configured wallets' routes)."""
    ops = operations(apple=apple, google=google)
    return build_openapi("Stampedge cloud store", version, ops, bearer=True, error_model=_E)
