"""Poster's account webhooks: ``POST /integrations/poster/{business_id}/webhook``.

A channel for checks rung up on a Poster till that has no agent beside it: a closed
``transaction`` of a Poster client linked to a card credits that card by the branch's rule,
through the same path as the API channel (``Store.stamp``, idempotent on ``order_id``), so a
check the agent also sent (the same order id in the same branch) is counted once.

What Poster sends and expects (``joinposter/docs``, ``en/web/webhooks.md``): a POST whose JSON
body has ``account``, ``account_number``, ``object``, ``object_id``, ``action``, ``time``,
``verify`` and, for some entities, ``data`` (a string); ``verify`` is the md5 of
``account;object;object_id;action;[data;]time;secret`` (``data`` only when sent), ``secret``
being the application's secret. Poster wants a 200 answer (its example answers
``{"status": "accept"}``) or it sends the webhook again, up to 15 more times over two days; so
every webhook that is taken, ignored or already counted gets 200, a forged one 403, and only a
failure worth retrying (Poster's web API unreachable) 503.

A transaction webhook carries only the check's id. The check and its client are read from
Poster's web API with the business's token: ``dash.getTransaction`` (``en/web/dash/
getTransaction.md``: ``status`` 2 = closed, ``pay_type`` 0 = closed unpaid, ``payed_sum`` in
cents, ``date_start`` in milliseconds, ``client_id``, ``spot_id``) and ``clients.getClient``
(``en/web/clients/getClient.md``:
``card_number``, ``email``). A client is linked to a card when its ``card_number`` is the card's
code or six-digit number, or else by its email.

The order id is ``poster-<date_start>``: the POS platform's order id is the order's opening time
in milliseconds (``en/pos/types/order.md``: ``id`` equals ``dateStart``;
``en/pos/orders/orders-addProduct.md``: "Order ID (unix-timestamp in milliseconds)"), which the
web API gives as the transaction's ``date_start``; the Poster app sends ``poster-<order.id>``.
"""

import hashlib
import hmac
import json
import logging
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.cloud.book import to_us
from sync.cloud.errors import Conflict, Forbidden, InvalidInput, NotFound
from sync.cloud.http import METRICS, RNG, STORE, int_param, now, principal, read_body, unstorable
from sync.cloud.models import StampIn
from sync.cloud.store import Principal
from sync.cloud.store import poster_links as links
from sync.cloud.store.poster_links import PosterLink, TakenWebhook
from sync.contract.card_code import CardCodeError
from sync.contract.customers import CustomerRef
from sync.contract.errors import Unavailable
from sync.contract.limits import CUSTOMER_NUMBER_RE, EMAIL_MAX_LEN
from sync.web.http_util import json_answer

log = logging.getLogger(__name__)

POSTER_API = "https://joinposter.com/api"
"""Poster's web API (``en/web/dash/getTransaction.md``: ``GET https://joinposter.com/api/...``)."""
API_TIMEOUT_S = 10.0
MAX_WEBHOOK_BYTES = 64 * 1024
WEBHOOK_PATH = "/integrations/poster/{business_id}/webhook"

Outcome = Literal[
    "stamped",  # a closed check of a linked client: its card was credited
    "already_counted",  # the same check was counted before (by the agent or an earlier hook)
    "not_closed",  # a transaction that is not (yet) closed
    "not_paid",  # closed without payment (getTransaction's pay_type 0)
    "no_client",  # a closed check without a Poster client
    "client_not_linked",  # the client names no card of this business
    "unknown_card",  # the client names a card this business does not have
    "ignored",  # an entity or action this channel does not act on
]


class PosterWebhook(BaseModel):
    """A webhook as Poster sends it (``en/web/webhooks.md``)."""

    model_config = ConfigDict(extra="ignore")

    account: str = Field(min_length=1, max_length=200)
    object: str = Field(min_length=1, max_length=100)
    object_id: int | str
    action: str = Field(min_length=1, max_length=100)
    time: int | str
    verify: str | None = Field(default=None, max_length=100)
    data: str | None = Field(default=None, max_length=MAX_WEBHOOK_BYTES)
    account_number: int | str | None = None

    def signed_text(self, secret: str) -> str:
        """``account;object;object_id;action;[data;]time;secret``, as Poster's PHP example
        builds it with ``implode(';', ...)`` (numbers written as decimal text)."""
        parts = [self.account, self.object, str(self.object_id), self.action]
        if self.data is not None:
            parts.append(self.data)
        parts += [str(self.time), secret]
        return ";".join(parts)


def signature(hook: PosterWebhook, secret: str) -> str:
    """Poster's ``verify`` for ``hook`` under the application ``secret`` (md5, hex)."""
    return hashlib.md5(hook.signed_text(secret).encode(), usedforsecurity=False).hexdigest()


def signed_by(hook: PosterWebhook, secret: str) -> bool:
    """True if ``hook.verify`` is Poster's signature under ``secret``."""
    if hook.verify is None:
        return False
    return hmac.compare_digest(hook.verify.strip().lower(), signature(hook, secret))


def cents_to_total(cents: str | int) -> Decimal:
    """An amount in cents as Poster's web API writes it (``"2750"``) as an exact decimal
    (``Decimal("27.50")``); ``ValueError`` if it is not a whole number of cents."""
    text = str(cents).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"not an amount in cents: {text!r}")
    return (Decimal(int(text)) / 100).quantize(Decimal("0.01"))


def card_of_client(client: dict[str, Any]) -> CustomerRef | None:
    """The card a Poster client names: its ``card_number`` as a card code or six-digit
    number, else its email; ``None`` if it names none."""
    number = str(client.get("card_number") or "").strip()
    if CUSTOMER_NUMBER_RE.fullmatch(number):
        return CustomerRef(number=number)
    if number and number != "0":
        try:
            return CustomerRef(card=number).canonical()
        except (CardCodeError, ValidationError):
            pass
    email = str(client.get("email") or "").strip()
    if email and len(email) <= EMAIL_MAX_LEN:
        try:
            return CustomerRef(email=email).canonical()
        except ValidationError:
            return None
    return None


def closing_history(data: str | None) -> str | None:
    """The ``type_history`` a transaction webhook's ``data`` names, if it names one."""
    if not data:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    history = parsed.get("transactions_history") if isinstance(parsed, dict) else None
    kind = history.get("type_history") if isinstance(history, dict) else None
    return kind if isinstance(kind, str) else None


class PosterApi:
    """Poster's web API, read with the business's token."""

    def __init__(self, link: PosterLink) -> None:
        self.base = link.api_url.rstrip("/")
        self.token = link.api_token or ""

    async def _one(self, method: str, **params: str) -> dict[str, Any] | None:
        url = f"{self.base}/{method}"
        timeout = aiohttp.ClientTimeout(total=API_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, params={"token": self.token, **params}) as resp,
            ):
                if resp.status != 200:
                    raise Unavailable(
                        f"Poster's API answered {resp.status} to {method}",
                        code="poster_unreachable",
                    )
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise Unavailable(
                f"Poster's API could not be read ({method}): {err}", code="poster_unreachable"
            ) from err
        if not isinstance(body, dict) or "response" not in body:
            raise Unavailable(
                f"Poster's API refused {method}: {body!r:.200}", code="poster_refused"
            )
        rows = body["response"]
        if isinstance(rows, list):
            rows = rows[0] if rows else None
        return rows if isinstance(rows, dict) else None

    async def transaction(self, transaction_id: str) -> dict[str, Any] | None:
        """``dash.getTransaction``: the check, or ``None`` if Poster has none of that id."""
        return await self._one("dash.getTransaction", transaction_id=transaction_id)

    async def client(self, client_id: str) -> dict[str, Any] | None:
        """``clients.getClient``: the client, or ``None``."""
        return await self._one("clients.getClient", client_id=client_id)


class WebhookAnswer(BaseModel):
    """What the webhook answers: Poster's ``status: accept`` and what this hook did."""

    status: Literal["accept"] = "accept"
    outcome: str
    order_id: str | None = None
    replay: bool = False


async def _credit(request: web.Request, link: PosterLink, hook: PosterWebhook) -> TakenWebhook:
    """Read the check behind a transaction webhook and credit its client's card."""
    api = PosterApi(link)
    check = await api.transaction(str(hook.object_id))
    if check is None or str(check.get("status")) != "2":
        return TakenWebhook("not_closed", None)
    order_id = f"poster-{check.get('date_start')}"
    if str(check.get("pay_type")) == "0":  # closed without payment (the customer left, ...)
        return TakenWebhook("not_paid", order_id)
    client_id = str(check.get("client_id") or "0")
    if client_id == "0":
        return TakenWebhook("no_client", order_id)
    client = await api.client(client_id)
    ref = card_of_client(client) if client is not None else None
    if ref is None:
        return TakenWebhook("client_not_linked", order_id)
    try:
        body = StampIn(
            order_id=order_id,
            total=cents_to_total(check.get("payed_sum", "0")),
            customer=ref,
            branch_id=link.branch_of(check.get("spot_id")),
        )
    except (ValidationError, ValueError) as err:
        log.warning("poster check %s not usable: %s", hook.object_id, err)
        return TakenWebhook("ignored", order_id)
    who = Principal("admin", link.business_id)
    store = request.app[STORE]
    try:
        out, created = await store.stamp(who, body, now(request), request.app[RNG])
    except NotFound:
        return TakenWebhook("unknown_card", order_id)
    except Conflict:  # the agent recorded this check first (or it was stamped with another body)
        return TakenWebhook("already_counted", order_id)
    return TakenWebhook("stamped" if created else "already_counted", out.order_id)


async def _read_hook(request: web.Request) -> PosterWebhook:
    raw = await request.content.read(MAX_WEBHOOK_BYTES + 1)
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise InvalidInput("the webhook is larger than 64 KB")
    try:
        text = raw.decode()
        data: Any = json.loads(text) if text.lstrip().startswith("{") else None
        if data is None:  # a form-encoded body, as some senders post it
            data = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=50))
        if unstorable(json.dumps(data)):
            raise InvalidInput("text with NUL characters or lone surrogates is not accepted")
        return PosterWebhook.model_validate(data)
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidInput(f"not a Poster webhook: {err}") from err


async def post_webhook(request: web.Request) -> web.Response:
    """``POST /integrations/poster/{business_id}/webhook``: a signed webhook from Poster."""
    business_id = int_param(request.match_info["business_id"], "business_id")
    assert business_id is not None
    store = request.app[STORE]
    async with store.db.read() as tx:
        link = await links.get_link(tx, business_id)
    if link is None or not link.enabled:
        raise NotFound("Poster webhooks are not enabled for this business", code="poster_disabled")
    hook = await _read_hook(request)
    if not signed_by(hook, link.secret):
        raise Forbidden(
            "the webhook's signature (verify) is wrong or missing",
            code="bad_signature",
            field="verify",
        )
    if hook.account != link.account:
        raise Forbidden(f"webhooks of Poster account {hook.account!r} do not go to this business",
                        code="wrong_account", field="account")  # fmt: skip
    assert hook.verify is not None
    verify = hook.verify.strip().lower()
    async with store.db.read() as tx:
        before = await links.taken(tx, business_id, verify)
    if before is not None:
        return json_answer(WebhookAnswer(outcome=before.outcome, order_id=before.order_id,
                                         replay=True))  # fmt: skip
    if hook.object != "transaction" or hook.action == "removed":
        done = TakenWebhook("ignored", None)
    elif closing_history(hook.data) not in (None, "close"):
        done = TakenWebhook("not_closed", None)  # an item added or changed: no API call
    else:
        done = await _credit(request, link, hook)
    fields = (hook.object, str(hook.object_id), hook.action)
    async with store.db.write(business_id) as tx:
        kept = await links.take(tx, business_id, verify, fields, done, to_us(now(request)))
    log.info("poster webhook %s %s %s: %s", hook.object, hook.object_id, hook.action, kept.outcome)
    request.app[METRICS].poster_webhooks.labels(kept.outcome).inc()
    return json_answer(WebhookAnswer(outcome=kept.outcome, order_id=kept.order_id,
                                     replay=kept != done))  # fmt: skip


class PosterLinkIn(BaseModel):
    """``PUT /v1/integrations/poster``: take a Poster account's webhooks (admin key)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    account: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    secret: str = Field(min_length=8, max_length=200)
    api_token: str | None = Field(default=None, min_length=1, max_length=200)
    api_url: str = Field(default=POSTER_API, max_length=300, pattern=r"^https?://[^\s]+$")
    branch_id: int | None = Field(default=None, ge=1, le=2**62)
    spots: dict[
        Annotated[str, Field(pattern=r"^[0-9]{1,18}$")], Annotated[int, Field(ge=1, le=2**62)]
    ] = Field(
        default_factory=dict,
        max_length=1000,
        description="Poster spot id -> the branch its checks credit (else branch_id)",
    )


class PosterLinkOut(BaseModel):
    """A business's Poster link as shown to its admin (never the secret or the token)."""

    enabled: bool
    account: str
    api_url: str
    branch_id: int | None
    spots: dict[str, int]
    token_set: bool
    webhook_path: str


def _out(link: PosterLink) -> PosterLinkOut:
    return PosterLinkOut(
        enabled=link.enabled,
        account=link.account,
        api_url=link.api_url,
        branch_id=link.branch_id,
        spots=link.spots,
        token_set=bool(link.api_token),
        webhook_path=WEBHOOK_PATH.format(business_id=link.business_id),
    )


async def put_link(request: web.Request) -> web.Response:
    """``PUT /v1/integrations/poster``: set the business's Poster link (admin key)."""
    who = await principal(request, need="admin")
    body = await read_body(request, PosterLinkIn)
    store = request.app[STORE]
    named = {*body.spots.values(), *([body.branch_id] if body.branch_id is not None else [])}
    for branch_id in sorted(named):
        await store.branch(who.business_id, branch_id)  # 404 for another business's
    link = PosterLink(
        business_id=who.business_id, enabled=body.enabled, account=body.account,
        secret=body.secret, api_url=body.api_url, api_token=body.api_token,
        branch_id=body.branch_id, spots=dict(body.spots),
    )  # fmt: skip
    async with store.db.write(who.business_id) as tx:
        await links.put_link(tx, link, to_us(now(request)))
    return json_answer(_out(link))


async def get_link(request: web.Request) -> web.Response:
    """``GET /v1/integrations/poster``: the business's Poster link (admin key)."""
    who = await principal(request, need="admin")
    async with request.app[STORE].db.read() as tx:
        link = await links.get_link(tx, who.business_id)
    if link is None:
        raise NotFound("no Poster link is set for this business", code="poster_disabled")
    return json_answer(_out(link))


def add_poster_routes(app: web.Application) -> None:
    """The webhook and its admin settings."""
    app.router.add_post(WEBHOOK_PATH, post_webhook)
    app.router.add_put("/v1/integrations/poster", put_link)
    app.router.add_get("/v1/integrations/poster", get_link)
