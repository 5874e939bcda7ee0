"""Receipt-QR claims over HTTP: ``POST /v1/claims/{token}`` and the phone's page ``/c/{token}``.

``GET /c/{token}`` never claims by itself (link previewers and prefetching would spend the
customer's QR): it checks the code and shows a button that posts back to the same address. The
phone keeps its card code in a cookie after the first claim, so later receipts land on that card.
"""

import base64
import json
from typing import NoReturn

from aiohttp import web

from sync.cloud.card_links import card_from_cookie, card_link, cookie_value, keep_card, verified
from sync.cloud.errors import EmailProofNeeded, NotFound, StoreError
from sync.cloud.http import METRICS, RNG, SETTINGS, STORE, now, read_body
from sync.cloud.identity_http import send_link
from sync.cloud.models import ClaimIn, ClaimPending, RewardOut
from sync.cloud.page_language import customer_language, html_page
from sync.cloud.store.identity import Identity
from sync.cloud.ui.claim_page import (
    REWARDS_SHOWN,
    ClaimView,
    RewardView,
    render_claim_done,
    render_claim_offer,
    render_claim_problem,
)
from sync.cloud.ui.identity_page import email_form
from sync.cloud.wallet.links import wallet_links
from sync.web.http_util import json_answer
from sync.web.throttle import GUESSES, check

CLAIMED_COOKIE = "stampedge_claimed"
CONFIRM_TEXT = (
    "this address already has a card: a link was mailed to it; opening it adds these stamps "
    "to that card. The receipt stays unclaimed until then"
)
_PROBLEMS = {"already_claimed", "expired", "invalid", "voided"}


async def post_claim(request: web.Request) -> web.Response:
    """``POST /v1/claims/{token}``: the stamps onto the presented card or a new card."""
    body = await read_body(request, ClaimIn, optional=True)
    metrics = request.app[METRICS]
    client = check(request, request.app[GUESSES].claims)
    token = request.match_info["token"]
    store = request.app[STORE]
    email = body.email if body.card_code is None else None
    try:
        if body.card_code is not None and not await verified(
            request, body.card_code, body.card_sig or ""
        ):
            # a card code is printed and shown at the till: only its signed link proves it
            raise NotFound("no card with this code and signature", code="unknown_card",
                           field="card_code")  # fmt: skip
        business_id = 0
        if email is not None:
            # only a verified address attaches a card to a person: the card starts without
            # it, and a link mailed to it attaches it (or the receipt waits for the link)
            business_id = (await store.verify_token(token, now(request)))[1].business_id
            if await Identity(store.db).card_of_email(business_id, email) is not None:
                raise EmailProofNeeded(CONFIRM_TEXT)
            body = body.model_copy(update={"email": None})
        out = await store.claim(token, body, now(request), request.app[RNG])
    except EmailProofNeeded as err:
        metrics.claims.labels(err.code).inc()
        assert email is not None
        await send_link(request, business_id, email, "claim", claim_token=token.upper())
        return json_answer(ClaimPending(status="confirm_by_email", message=str(err)), status=202)
    except StoreError as err:
        metrics.claims.labels(err.code).inc()
        _count_guess(request, client, err)
        raise
    metrics.claims.labels("claimed").inc()
    if email is not None:  # the claim is made: its answer goes out even past the link limit
        await send_link(request, business_id, email, "attach", card_code=out.card_code, quiet=True)
    return json_answer(out, status=201)


def reward_views(rewards: list[RewardOut]) -> list[RewardView]:
    """The rewards a claim reached as its page shows them: each with its redeem code (a
    voucher's, or the gift's the till redeems by)."""
    return [
        RewardView(kind=r.kind, name=r.name, code=r.code,
                   valid_until=r.expires_at.date() if r.expires_at else None)
        for r in rewards
    ]  # fmt: skip


def _count_guess(request: web.Request, client: str, err: StoreError) -> None:
    """A token that is not ours (not an expired or spent one) counts as a guess."""
    if err.code == "invalid":
        request.app[GUESSES].claims.fail(client)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


async def _problem_page(request: web.Request, err: StoreError) -> web.Response:
    """Why the receipt cannot be claimed, under its shop's name when the code is genuine, with
    a way to this phone's card when it keeps one (a refresh after a claim lands here)."""
    problem = err.code if err.code in _PROBLEMS else "invalid"
    shop = "" if problem == "invalid" else await _shop(request)
    keeps_card = problem == "already_claimed" and await card_from_cookie(request) is not None
    card_url = "/card" if keeps_card else ""
    lang = customer_language(request)
    html = render_claim_problem(problem, lang, card_url=card_url, business=shop)  # type: ignore[arg-type]
    return html_page(request, html, lang, err.status)


async def _shop(request: web.Request) -> str:
    return await request.app[STORE].receipt_shop(request.match_info["token"], now(request))


async def claim_page(request: web.Request) -> web.Response:
    """``GET /c/{token}``: check the code (genuine, unexpired, not yet claimed or voided), then
    offer one button that claims it."""
    token = request.match_info["token"]
    lang = customer_language(request)
    done = claimed_view(request, token)
    if done is not None:  # the answer to this phone's own POST, after its redirect (once)
        extra = email_form("/card/email", have_card=False, lang=lang)
        return forget_result(
            request, html_page(request, render_claim_done(done, lang, extra=extra), lang)
        )
    store = request.app[STORE]
    client = check(request, request.app[GUESSES].claims)
    try:
        verified = await store.claim_status(token, now(request))
    except StoreError as err:
        _count_guess(request, client, err)
        return await _problem_page(request, err)
    shop = await _shop(request)
    have_card = email_form(f"{request.path}/email", have_card=True, lang=lang)
    html = render_claim_offer(verified.stamps, request.path, lang, business=shop, extra=have_card)
    return html_page(request, html, lang)


async def claim_page_post(request: web.Request) -> web.Response:
    """``POST /c/{token}`` (the page's button): claim, show the card, remember it on the phone."""
    store = request.app[STORE]
    client = check(request, request.app[GUESSES].claims)
    code = await card_from_cookie(request)
    body = ClaimIn(card_code=code) if code else ClaimIn()
    try:
        try:
            out = await store.claim(
                request.match_info["token"], body, now(request), request.app[RNG]
            )
        except NotFound as err:
            if err.code != "unknown_card":
                raise
            out = await store.claim(
                request.match_info["token"], ClaimIn(), now(request), request.app[RNG]
            )
    except StoreError as err:
        request.app[METRICS].claims.labels(err.code).inc()
        _count_guess(request, client, err)
        return await _problem_page(request, err)
    request.app[METRICS].claims.labels("claimed").inc()
    card_url = await card_link(request, out.card_code)
    apple, google = await wallet_links(request, out.card_code)
    card = await store.card(out.card_code, now(request), None)
    view = ClaimView(
        stamps_added=out.stamps, balance=out.balance, goal=out.goal, card_url=card_url,
        apple_wallet_url=apple, google_wallet_url=google,
        business=await store.business_name(card.business_id),
        rewards=reward_views(out.rewards[:REWARDS_SHOWN]),
        more_rewards=max(0, len(out.rewards) - REWARDS_SHOWN),
    )  # fmt: skip
    await redirect_to_result(request, request.match_info["token"], view, out.card_code)


async def redirect_to_result(
    request: web.Request, key: str, view: ClaimView, card_code: str
) -> NoReturn:
    """POST-redirect-GET after a claim (of receipt token or code ``key``): a refresh of the
    answer never posts again. What the claim gave rides to the next GET in a short-lived
    cookie on this page's path (shown to this phone, once: see ``claimed_view``); the phone
    keeps ``card_code``."""
    resp = web.HTTPSeeOther(request.path)
    keep_card(request, resp, await cookie_value(request, card_code))
    flash = json.dumps({"t": key.upper(), "v": view.model_dump(mode="json")})
    resp.set_cookie(
        CLAIMED_COOKIE, base64.urlsafe_b64encode(flash.encode()).decode(), max_age=600,
        path=request.path, httponly=True, samesite="Lax",
        secure=request.app[SETTINGS].cloud.public_url.startswith("https://"),
    )  # fmt: skip
    raise resp


def claimed_view(request: web.Request, key: str) -> ClaimView | None:
    """The result of this phone's claim of ``key`` (``redirect_to_result``), if it just made it."""
    raw = request.cookies.get(CLAIMED_COOKIE, "")
    if not raw or len(raw) > 4096:
        return None
    try:
        flash = json.loads(base64.urlsafe_b64decode(raw.encode()))
        if flash.get("t") != key.upper():
            return None
        return ClaimView.model_validate(flash["v"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def forget_result(request: web.Request, resp: web.Response) -> web.Response:
    """Drop the claim's result cookie once its page was shown (a refresh shows the code's
    state from then on)."""
    resp.del_cookie(CLAIMED_COOKIE, path=request.path)
    return resp
