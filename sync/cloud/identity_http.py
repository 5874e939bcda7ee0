"""Customers who own their card, over HTTP (issue #19, part A).

- ``POST /card/email`` (the card page's form): a sign-in link to the address; opening it puts
  the address on this phone's card, or, if the address has a card already, merges this card
  into that one ("I have a card already": the phone gets its card back).
- ``POST /c/{token}/email`` (the claim page's "I have a card already"): a link that claims the
  receipt onto the address's card (a new card if it has none).
- ``GET /signin/{token}`` shows one button (mail scanners and link previewers open links);
  ``POST`` spends the link once and puts the card on the phone (its signed cookie).
- ``POST /card/consent``; ``GET|POST /unsubscribe/{card_code}/{channel}/{sig}`` (the signed
  link every message carries, RFC 8058 one-click ``POST`` included).
- ``POST /v1/cards/{card_code}/merge`` (admin key): ``{"into": "<card code>"}``.

Links are throttled per client (429 past ``LINKS_PER_CLIENT`` an hour) and per address (past
``LINKS_PER_ADDRESS`` an hour nothing more is sent, with the same answer: no mail bombing, and
no oracle telling which addresses have cards).
"""

import hashlib
import hmac
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from sync.cloud.book import to_us
from sync.cloud.card_links import card_from_cookie, cookie_value, keep_card
from sync.cloud.errors import StoreError
from sync.cloud.http import RNG, SETTINGS, STORE, now, principal, read_body
from sync.cloud.mail.messages import sign_in_mail
from sync.cloud.mail.sender import MAILER, add_mail
from sync.cloud.models import ClaimIn
from sync.cloud.page_language import customer_language, html_page
from sync.cloud.store import merge as merging
from sync.cloud.store.identity import CHANNELS, Channel, Identity, Purpose, new_token
from sync.cloud.ui.identity_page import (
    render_bad_email,
    render_bad_phone,
    render_link_sent,
    render_sign_in,
    render_sign_in_problem,
    render_unsubscribe,
)
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.limits import CardText, Email
from sync.web.http_util import json_answer, read_form
from sync.web.throttle import GUESSES, Throttle, check, client_of

LINKS_PER_CLIENT = 10
LINKS_PER_ADDRESS = 3
_EMAIL = TypeAdapter(Email)


@dataclass
class LinkThrottles:
    """Sign-in links sent, per client and per address (an hour's window)."""

    clients: Throttle = field(default_factory=lambda: Throttle(LINKS_PER_CLIENT, 3600.0))
    addresses: Throttle = field(default_factory=lambda: Throttle(LINKS_PER_ADDRESS, 3600.0))


LINK_THROTTLES = web.AppKey("link_throttles", LinkThrottles)


class MergeIn(BaseModel):
    """``POST /v1/cards/{card_code}/merge``: the card this one goes into."""

    model_config = {"extra": "forbid"}
    into: CardText


class MergeOut(BaseModel):
    """A merge: the card that remains, the one now an alias of it, and what moved."""

    card_code: str
    merged: str
    customer_id: str
    balance: int
    stamps_moved: int
    rewards_moved: int
    event_id: str


def _html(request: web.Request, text: str, lang: str, status: int = 200) -> web.Response:
    resp = html_page(request, text, lang, status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _identity(request: web.Request) -> Identity:
    """The identity operations over the store's database (stateless: made per request)."""
    return Identity(request.app[STORE].db)


def _minutes(request: web.Request) -> int:
    return request.app[SETTINGS].mail.link_minutes


def _base(request: web.Request) -> str:
    return request.app[SETTINGS].cloud.public_url.rstrip("/")


async def unsubscribe_sig(request: web.Request, card_code: str, channel: str) -> str:
    """The signature of a card's "no more offers" link (under its business's link key)."""
    key = await request.app[STORE].card_link_key(card_code)
    text = f"unsubscribe:{canonical_card_text(card_code)}:{channel}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:24]


async def unsubscribe_url(request: web.Request, card_code: str, channel: str = "email") -> str:
    """The absolute "no more offers" link of a card."""
    sig = await unsubscribe_sig(request, card_code, channel)
    return f"{_base(request)}/unsubscribe/{card_code}/{channel}/{sig}"


async def send_link(
    request: web.Request, business_id: int, email: str, purpose: Purpose, *,
    card_code: str | None = None, claim_token: str | None = None, quiet: bool = False,
) -> None:  # fmt: skip
    """Mail a one-time link (throttled per client with 429, per address silently; ``quiet``:
    a client over its limit gets no link and no 429, for answers that must go out whole). The
    message speaks the language of the page that asked for it (the business's for the API)."""
    throttles = request.app[LINK_THROTTLES]
    if quiet and throttles.clients.retry_after(client_of(request)) > 0:
        return
    client = check(request, throttles.clients)
    throttles.clients.fail(client)  # every link asked for counts, sent or not
    address = canonical_email(email)
    if throttles.addresses.retry_after(address) > 0:
        return
    throttles.addresses.fail(address)
    identity = _identity(request)
    owner = await identity.card_of_email(business_id, address)
    footer_card = owner[1] if owner else card_code
    token = new_token()
    mail = sign_in_mail(
        to_addr=address, business=await request.app[STORE].business_name(business_id),
        purpose=purpose, link=f"{_base(request)}/signin/{token}", minutes=_minutes(request),
        unsubscribe_url=await unsubscribe_url(request, footer_card) if footer_card else None,
        customer_id=owner[0] if owner else None, lang=customer_language(request),
    )  # fmt: skip
    at = to_us(now(request))
    await identity.send_link(
        business_id, address, purpose, token, mail, at, _minutes(request) * 60_000_000,
        card_code=card_code, claim_token=claim_token,
    )  # fmt: skip
    request.app[MAILER].wake()


async def _email_of(request: web.Request) -> str | None:
    form = await read_form(request)
    raw = str(form.get("email", "")).strip()
    try:
        return _EMAIL.validate_python(raw) if raw else None
    except ValidationError:
        return None


async def card_email(request: web.Request) -> web.Response:
    """``POST /card/email``: a link that puts the address on this phone's card (or brings the
    address's own card here, merging this one into it)."""
    lang = customer_language(request)
    code = await card_from_cookie(request)
    email = await _email_of(request)
    if code is None:
        return _html(request, render_sign_in_problem("invalid", lang=lang), lang, 404)
    if email is None:
        return _html(request, render_bad_email("/card", lang=lang), lang, 422)
    _, business_id, _ = await _identity(request).card_id(code)
    await send_link(request, business_id, email, "attach", card_code=code)
    return _html(request, render_link_sent(_minutes(request), "/card", lang=lang), lang)


async def card_phone(request: web.Request) -> web.Response:
    """``POST /card/phone``: the phone the till can find this phone's card by."""
    lang = customer_language(request)
    code = await card_from_cookie(request)
    form = await read_form(request)
    if code is None:
        return _html(request, render_sign_in_problem("invalid", lang=lang), lang, 404)
    identity = _identity(request)
    customer_id, business_id, _ = await identity.card_id(code)
    try:
        await identity.set_phone(business_id, customer_id, form.get("phone", "")[:40])
    except StoreError as err:
        taken = err.code == "phone_taken"
        return _html(request, render_bad_phone(taken, lang=lang), lang, err.status)
    raise web.HTTPSeeOther("/card?phone=saved")


async def claim_email(request: web.Request) -> web.Response:
    """``POST /c/{token}/email``: "I have a card already" on a receipt's page."""
    lang = customer_language(request)
    token = request.match_info["token"]
    back = f"/c/{token}"
    email = await _email_of(request)
    if email is None:
        return _html(request, render_bad_email(back, lang=lang), lang, 422)
    client = check(request, request.app[GUESSES].claims)
    try:
        _, device = await request.app[STORE].verify_token(token, now(request))
    except StoreError as err:
        if err.code == "invalid":
            request.app[GUESSES].claims.fail(client)
        return _html(request, render_sign_in_problem("invalid", lang=lang), lang, err.status)
    await send_link(request, device.business_id, email, "claim", claim_token=token.upper())
    return _html(request, render_link_sent(_minutes(request), back, lang=lang), lang)


async def sign_in_page(request: web.Request) -> web.Response:
    """``GET /signin/{token}``: one button; the link is not used by looking at it."""
    lang = customer_language(request)
    token = request.match_info["token"]
    client = check(request, request.app[GUESSES].links)
    try:
        await _identity(request).link_status(token, to_us(now(request)))
    except StoreError as err:
        return _problem(request, client, err)
    return _html(request, render_sign_in(request.path, lang=lang), lang)


def _problem(request: web.Request, client: str, err: StoreError) -> web.Response:
    lang = customer_language(request)
    if err.code == "invalid":
        request.app[GUESSES].links.fail(client)
    problem = err.code if err.code in ("used", "expired") else "invalid"
    return _html(request, render_sign_in_problem(problem, lang=lang), lang, err.status)  # type: ignore[arg-type]


async def sign_in(request: web.Request) -> web.Response:
    """``POST /signin/{token}``: spend the link and put the card on this phone."""
    token = request.match_info["token"]
    client = check(request, request.app[GUESSES].links)
    identity = _identity(request)
    at = to_us(now(request))
    try:
        link, code = await identity.take_link(token, at)
        if code is None:  # a receipt for the address's card
            assert link.claim_token is not None
            owner = await identity.card_of_email(link.business_id, link.email)
            body = ClaimIn(card_code=owner[1]) if owner else ClaimIn()
            try:
                out = await request.app[STORE].claim(
                    link.claim_token, body, now(request), request.app[RNG]
                )
                code = out.card_code
            except StoreError:
                if owner is None:  # nothing claimed and no card: nothing to open
                    raise
                code = owner[1]  # the receipt was spent or expired meanwhile: the card opens
            if owner is None:
                code = await identity.verify_email(link.business_id, code, link.email, at)
    except StoreError as err:
        return _problem(request, client, err)
    resp = web.HTTPSeeOther("/card")
    keep_card(request, resp, await cookie_value(request, code))
    raise resp


async def card_consent(request: web.Request) -> web.Response:
    """``POST /card/consent``: the card page's offers form (unticked: no)."""
    lang = customer_language(request)
    code = await card_from_cookie(request)
    if code is None:
        return _html(request, render_sign_in_problem("invalid", lang=lang), lang, 404)
    form = await read_form(request)
    identity = _identity(request)
    customer_id, business_id, email = await identity.card_id(code)
    answers: list[tuple[Channel, bool]] = [
        (c, form.get(c) == "yes" and (c != "email" or email is not None)) for c in CHANNELS
    ]
    await identity.record_consent(business_id, customer_id, answers, "card_page",
                                  to_us(now(request)))  # fmt: skip
    raise web.HTTPSeeOther("/card?consent=saved#consent")


async def _unsubscribe_target(request: web.Request) -> tuple[str, Channel] | None:
    code = request.match_info["card_code"]
    channel = request.match_info["channel"]
    sig = request.match_info["sig"]
    client = check(request, request.app[GUESSES].links)
    ok = False
    if channel in CHANNELS and len(code) <= 64 and len(sig) <= 64:
        try:
            expected = await unsubscribe_sig(request, code, channel)
            ok = hmac.compare_digest(sig.lower().encode(), expected.encode())
        except StoreError:
            ok = False
    if not ok:
        request.app[GUESSES].links.fail(client)
        return None
    return canonical_card_text(code), channel  # type: ignore[return-value]


async def unsubscribe_page(request: web.Request) -> web.Response:
    """``GET /unsubscribe/...``: a button (a GET changes nothing)."""
    lang = customer_language(request)
    found = await _unsubscribe_target(request)
    if found is None:
        return _html(request, render_sign_in_problem("invalid", lang=lang), lang, 404)
    return _html(request, render_unsubscribe(request.path, found[1], done=False, lang=lang), lang)


async def unsubscribe(request: web.Request) -> web.Response:
    """``POST /unsubscribe/...``: withdraw consent for the channel (the page's button, or a
    mail client's one-click ``List-Unsubscribe=One-Click``)."""
    lang = customer_language(request)
    found = await _unsubscribe_target(request)
    if found is None:
        return _html(request, render_sign_in_problem("invalid", lang=lang), lang, 404)
    code, channel = found
    identity = _identity(request)
    customer_id, business_id, _ = await identity.card_id(code)
    await identity.record_consent(business_id, customer_id, [(channel, False)], "unsubscribe",
                                  to_us(now(request)))  # fmt: skip
    return _html(request, render_unsubscribe(request.path, channel, done=True, lang=lang), lang)


async def post_merge(request: web.Request) -> web.Response:
    """``POST /v1/cards/{card_code}/merge`` (admin key): this card into ``into``."""
    who = await principal(request, need="admin")
    body = await read_body(request, MergeIn)
    store = request.app[STORE]
    async with store.db.write(who.business_id) as tx:
        done = await merging.merge(
            tx, who.business_id, request.match_info["card_code"], body.into,
            to_us(now(request)), "staff",
        )  # fmt: skip
    return json_answer(
        MergeOut(
            card_code=done.card_code, merged=done.merged, customer_id=str(done.customer_id),
            balance=done.balance, stamps_moved=done.stamps_moved,
            rewards_moved=done.rewards_moved, event_id=done.event_id,
        )
    )  # fmt: skip


def add_identity_routes(app: web.Application) -> None:
    """The identity routes, the link throttles and the mail sender."""
    app[LINK_THROTTLES] = LinkThrottles()
    add_mail(app)
    r = app.router
    r.add_post("/card/email", card_email)
    r.add_post("/card/consent", card_consent)
    r.add_post("/card/phone", card_phone)
    for prefix in ("/c", "/C"):
        r.add_post(prefix + "/{token}/email", claim_email)
    r.add_get("/signin/{token}", sign_in_page)
    r.add_post("/signin/{token}", sign_in)
    r.add_get("/unsubscribe/{card_code}/{channel}/{sig}", unsubscribe_page)
    r.add_post("/unsubscribe/{card_code}/{channel}/{sig}", unsubscribe)
    r.add_post("/v1/cards/{card_code}/merge", post_merge)


__all__ = ["add_identity_routes", "send_link", "unsubscribe_url"]
