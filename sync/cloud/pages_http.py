"""The cloud's pages for people: the customer's card and the owner's branch dashboard.

- ``GET /card`` shows the card this phone keeps (the cookie the claim page set);
  ``GET /card/{card_code}/{sig}`` is the card's private link (``sig`` is an HMAC of the code
  under a key only the cloud knows), which also puts the card on the phone that opens it.
- ``GET /dashboard`` shows each branch's figures per day and per device; the owner signs in
  once with the business's admin key; a same-site, HTTP-only cookie keeps a signed session
  that expires (and ends when the admin key is rotated or on sign-out, on the server: a copy
  of the cookie too; "sign out everywhere" ends every session of the business), never the key.
"""

from datetime import date, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from sync.cloud import dashboard_session
from sync.cloud.card_links import card_from_cookie, cookie_value, keep_card, verified
from sync.cloud.errors import Forbidden, NotFound, StoreError, Unauthorized
from sync.cloud.http import (
    ADMIN_COOKIE,
    EVERYWHERE_FIELD,
    FORM_TOKEN_FIELD,
    SETTINGS,
    STORE,
    check_form_token,
    now,
    sign_out,
    signed_in_form,
)
from sync.cloud.models import CardOut, StatsOut
from sync.cloud.page_language import customer_language, html_page
from sync.cloud.store import Principal
from sync.cloud.store.identity import Identity
from sync.cloud.ui.card_page import CardView, VoucherView, render_card
from sync.cloud.ui.claim_page import render_claim_problem
from sync.cloud.ui.dashboard import DashboardView, DayFigures, render_dashboard
from sync.cloud.ui.identity_page import (
    consent_form,
    email_form,
    phone_form,
    verified_email_section,
)
from sync.cloud.ui.layout import page
from sync.cloud.ui.privacy_page import privacy_forms
from sync.cloud.wallet.links import wallet_links
from sync.contract.card_code import canonical_card_text
from sync.web.http_util import read_form
from sync.web.locale_format import day, month, number
from sync.web.texts import t
from sync.web.throttle import GUESSES, check

DASHBOARD_DAYS = 14


def _html(text: str, status: int = 200) -> web.Response:
    resp = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _card_view(card: CardOut) -> CardView:
    return CardView(
        card_code=card.card_code,
        number=card.number,
        balance=card.balance,
        goal=card.goal,
        vouchers=[
            VoucherView(
                name=r.name,
                code=r.code,
                state=r.state,
                valid_until=r.expires_at.date() if r.expires_at else None,
            )
            for r in card.rewards
        ],
    )


async def _card_page(request: web.Request, code: str) -> web.Response:
    try:
        card = await request.app[STORE].card(code, now(request), None)
    except NotFound:
        return _not_found(request)
    apple, google = await wallet_links(request, card.card_code)
    view = _card_view(card).model_copy(
        update={
            "apple_wallet_url": apple,
            "google_wallet_url": google,
            "business": await request.app[STORE].business_name(card.business_id),
        }
    )
    lang = customer_language(request)
    identity = Identity(request.app[STORE].db)
    customer_id, _, email = await identity.card_id(card.card_code)
    saved = request.query.get
    extra = ((verified_email_section(email, "/card/email", lang) if email
              else email_form("/card/email", have_card=True, lang=lang))
             + consent_form(email, await identity.consents(customer_id), lang,
                            saved=saved("consent") == "saved")
             + phone_form(card.phone, lang, saved=saved("phone") == "saved")
             + (privacy_forms(lang) if email else ""))  # fmt: skip
    resp = html_page(request, render_card(view, lang, extra=extra), lang)
    keep_card(request, resp, await cookie_value(request, card.card_code))
    return resp


def _not_found(request: web.Request) -> web.Response:
    lang = customer_language(request)
    return html_page(request, render_claim_problem("not_found", lang), lang, 404)


async def my_card(request: web.Request) -> web.Response:
    """``GET /card``: the card this phone keeps (its signed cookie)."""
    code = await card_from_cookie(request)
    if code is None:
        return _not_found(request)
    return await _card_page(request, code)


async def card_by_link(request: web.Request) -> web.Response:
    """``GET /card/{card_code}/{sig}``: a card's private link."""
    code, sig = request.match_info["card_code"], request.match_info["sig"]
    if not await verified(request, code, sig):
        return _not_found(request)
    return await _card_page(request, canonical_card_text(code))


def _login_page(failed: bool, lang: str = "en") -> str:
    problem = f'<p class="bad" role="alert">{escape(t("login.wrong", lang))}</p>' if failed else ""
    body = (
        f'<section class="card"><h1>{escape(t("login.title", lang))}</h1>'
        f"{problem}"
        '<form method="post" action="/dashboard/login"><p><label for="key">'
        f"{escape(t('login.key', lang))}</label>"
        '<br><input id="key" name="key" type="password" autocomplete="current-password" '
        'required style="font:inherit;padding:8px;width:100%"></p>'
        f'<p><button class="btn" type="submit">{escape(t("login.button", lang))}</button></p>'
        "</form></section>"
    )
    return page(t("login.button", lang), body, lang=lang)


async def _admin(request: web.Request, key: str) -> Principal | None:
    if not key or len(key) > 200:
        return None
    try:
        who = await request.app[STORE].authenticate(key)
    except (Unauthorized, StoreError):
        return None
    return who if who.kind == "admin" else None


async def dashboard_login(request: web.Request) -> web.Response:
    """``POST /dashboard/login``: check the admin key; the cookie gets a signed session that
    expires (``dashboard_session``), never the key itself."""
    guesses = request.app[GUESSES].sign_in
    client = check(request, guesses)
    form = await read_form(request)
    key = form.get("key", "").strip()
    who = await _admin(request, key)
    state = await request.app[STORE].session_state(who.business_id) if who else None
    if who is None or state is None:
        guesses.fail(client)
        return _html(_login_page(failed=True, lang=customer_language(request)), 401)
    value = dashboard_session.mint_after(
        who.business_id, state.key_hash, _now_s(request), state.sessions_after_s
    )
    resp = web.HTTPSeeOther("/dashboard")
    secure = request.app[SETTINGS].cloud.public_url.startswith("https://")
    resp.set_cookie(
        ADMIN_COOKIE, value, httponly=True, samesite="Strict", secure=secure,
        max_age=dashboard_session.SESSION_S, path="/",
    )  # fmt: skip
    raise resp


async def dashboard_logout(request: web.Request) -> web.Response:
    """``POST /dashboard/logout`` (the page's buttons, with its CSRF token): end the session on
    the server, or with ``everywhere=1`` every session of the business (``http.sign_out``)."""
    session = await signed_in_form(request)
    form = await read_form(request)
    if session is None:
        return _html(_login_page(failed=False, lang=customer_language(request)), 403)
    try:
        check_form_token(request, session[1], form.get(FORM_TOKEN_FIELD, ""))
    except Forbidden:
        return _html(_login_page(failed=False, lang=customer_language(request)), 403)
    raise await sign_out(request, everywhere=form.get(EVERYWHERE_FIELD) == "1")


def _now_s(request: web.Request) -> int:
    return int(now(request).timestamp())


def _rows(stats: StatsOut, branch: str) -> list[DayFigures]:
    return [
        DayFigures(
            day=d.day.isoformat(),
            branch=branch,
            device=dev.label or f"device {dev.device_id}",
            orders=d.orders,
            stamps=d.stamps,
            claims_issued=d.qr_issued,
            claims_claimed=d.qr_claimed,
            rewards_issued=d.rewards_issued,
            rewards_redeemed=d.rewards_redeemed,
        )
        for dev in stats.devices
        for d in dev.days
    ]


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


async def dashboard(request: web.Request) -> web.Response:
    """``GET /dashboard?from=&to=``: the business's branches, per day and per device."""
    auth = request.headers.get("Authorization", "")
    csrf = ""
    if auth.lower().startswith("bearer "):
        guesses = request.app[GUESSES].keys
        client = check(request, guesses)
        who = await _admin(request, auth[7:].strip())
        if who is None:
            guesses.fail(client)
    else:
        session = await signed_in_form(request)
        who, csrf = session if session is not None else (None, "")
    if who is None:
        return _html(_login_page(failed=False, lang=customer_language(request)), 401)
    store = request.app[STORE]
    rows: list[DayFigures] = []
    alerts: dict[str, tuple[int, int]] = {}
    first = last = None
    zones: dict[str, str] = {}
    for branch in await store.branches(who.business_id):
        zones[branch.name] = branch.timezone
        today = now(request).astimezone(ZoneInfo(branch.timezone)).date()
        last = _day(request.query.get("to"), today)
        first = _day(request.query.get("from"), last - timedelta(days=DASHBOARD_DAYS - 1))
        if first > last or (last - first).days > 92:
            first = last - timedelta(days=DASHBOARD_DAYS - 1)
        stats = await store.stats(who, branch.branch_id, first, last)
        rows += _rows(stats, branch.name)
        alerts[branch.name] = (stats.redeem_conflicts, stats.voided_reward_checks)
    lang = customer_language(request)
    period = (
        t("dash.period", lang, first=day(first, lang), last=day(last, lang))
        if first and last
        else ""
    )
    name = await store.business_name(who.business_id)
    use = await store.plan_usage(who.business_id, now(request))
    limit = t("dash.unlimited", lang) if use.ops_limit is None else number(use.ops_limit, lang)
    plan = t(
        "dash.plan", lang, plan=use.plan, used=number(use.ops_used, lang), limit=limit,
        month=month(use.month, lang),
    )  # fmt: skip
    if use.over_by:
        plan += t("dash.plan.over", lang, over=number(use.over_by, lang))
    view = DashboardView(
        business=name,
        period=period,
        rows=rows,
        zones=zones,
        plan=plan,
        alerts=alerts,
        csrf=csrf,
        lang=lang,
    )
    return html_page(request, render_dashboard(view), lang)


def add_page_routes(app: web.Application) -> None:
    """The people-facing pages of the cloud."""
    app.router.add_get("/card", my_card)
    app.router.add_get("/card/{card_code}/{sig}", card_by_link)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_post("/dashboard/login", dashboard_login)
    app.router.add_post("/dashboard/logout", dashboard_logout)
