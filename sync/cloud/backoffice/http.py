"""The back office's API over HTTP: vouchers, batches and their print files, the plan; and the
page a phone opens from a voucher or delivery insert (``/I/{code}``, claimed like a receipt QR).

Admin routes take the admin key as ``Authorization: Bearer``; the downloads also take the
dashboard's signed-in cookie (so the back-office pages' links work).
"""

import asyncio
from datetime import datetime
from html import escape

from aiohttp import web
from pydantic import ValidationError

from sync.cloud.backoffice import codes, prints
from sync.cloud.backoffice.models import (
    BatchIn,
    BatchList,
    BatchOut,
    InsertClaimIn,
    VoucherIn,
    gift_titled,
)
from sync.cloud.card_links import card_from_cookie, card_link
from sync.cloud.claims_http import claimed_view, forget_result, redirect_to_result, reward_views
from sync.cloud.errors import InvalidInput, NotFound, StoreError, Unauthorized
from sync.cloud.http import (
    RNG,
    SETTINGS,
    STORE,
    bearer,
    int_param,
    now,
    principal,
    read_body,
    signed_in,
)
from sync.cloud.page_language import customer_language, html_page
from sync.cloud.store import Principal
from sync.cloud.ui.backoffice import gives
from sync.cloud.ui.claim_page import (
    ClaimView,
    render_claim_done,
    render_claim_offer,
    render_claim_problem,
)
from sync.cloud.ui.layout import page
from sync.contract.customers import CustomerRef
from sync.web.http_util import json_answer
from sync.web.locale_format import day
from sync.web.texts import t

_PROBLEMS = {"already_claimed", "expired", "invalid"}


async def admin_principal(request: web.Request) -> Principal:
    """The admin by bearer key, or for a ``GET`` (the pages' download links) by the dashboard's
    cookie (401/403 otherwise). A change never rides on the cookie: the pages' forms have
    their CSRF token (``pages.py``)."""
    if bearer(request) is not None or request.method not in ("GET", "HEAD"):
        return await principal(request, need="admin")
    found = await signed_in(request)
    if found is None:
        raise Unauthorized("an Authorization: Bearer admin key is needed")
    return found[0]


def _public_url(request: web.Request) -> str:
    return request.app[SETTINGS].cloud.public_url


async def post_batch(request: web.Request) -> web.Response:
    """``POST /v1/vouchers/batch``: N single-use codes (402 ``plan_limit`` past the plan)."""
    who = await admin_principal(request)
    body = gift_titled(await read_body(request, BatchIn), customer_language(request))
    out = await request.app[STORE].create_batch(who, body, now(request), _public_url(request))
    return json_answer(out, status=201)


async def post_voucher(request: web.Request) -> web.Response:
    """``POST /v1/vouchers``: one code, sent as a link or put on a customer's card at once."""
    who = await admin_principal(request)
    body = gift_titled(await read_body(request, VoucherIn), customer_language(request))
    out, _ = await request.app[STORE].create_voucher(
        who, body, now(request), _public_url(request), request.app[RNG]
    )
    return json_answer(out, status=201)


async def get_batches(request: web.Request) -> web.Response:
    """``GET /v1/vouchers/batch``: the latest batches with printed, claimed, redeemed counts."""
    who = await admin_principal(request)
    found = await request.app[STORE].batches(who.business_id, now(request), _public_url(request))
    return json_answer(BatchList(batches=found))


def _print_codes(batch: BatchOut, lang: str) -> list[prints.PrintCode]:
    detail = t("print.detail", lang, gives=gives(batch, lang), date=day(batch.expires_at, lang))
    return [prints.PrintCode(c.code, c.url, batch.title, detail) for c in batch.codes]


async def get_batch_file(request: web.Request) -> web.Response:
    """``GET /v1/vouchers/batch/{id}.pdf|.csv|.escpos``: the batch ready to print
    (``?layout=labels|flyers`` for the PDF), its words in the back office pages' language
    (``?lang=``, the pages' cookie, ``Accept-Language``, else the business's)."""
    who = await admin_principal(request)
    batch_id = int_param(request.match_info["id"], "id")
    if batch_id is None or not 1 <= batch_id < 2**62:
        raise NotFound("no such batch in this business", field="id")
    fmt = request.match_info["fmt"]
    layout = request.query.get("layout", "labels")
    if layout not in ("labels", "flyers"):
        raise InvalidInput("layout is labels or flyers", field="layout")
    store = request.app[STORE]
    batch = await store.batch(who.business_id, batch_id, now(request), _public_url(request))
    shop = await store.business_name(who.business_id)
    lang = customer_language(request)
    items = _print_codes(batch, lang)
    name = f"batch-{batch_id}"
    if fmt == "csv":
        extra = [
            {"state": c.state, "expires_at": batch.expires_at.isoformat()} for c in batch.codes
        ]
        body = prints.csv_text(items, extra).encode()
        ctype = "text/csv"
    elif fmt == "pdf":
        body = await asyncio.to_thread(prints.pdf, items, layout, shop, lang)  # type: ignore[arg-type]
        ctype, name = "application/pdf", f"{name}-{layout}"
        await store.mark_printed(who.business_id, batch_id)
    else:
        body = prints.escpos(items, shop, lang)
        ctype = "application/octet-stream"
        await store.mark_printed(who.business_id, batch_id)
    return web.Response(
        body=body, content_type=ctype,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


async def post_insert_claim(request: web.Request) -> web.Response:
    """``POST /v1/inserts/{code}``: claim a voucher or insert code (JSON; a new card if the
    body names none)."""
    body = await read_body(request, InsertClaimIn, optional=True)
    code = codes.canonical(request.match_info["code"])
    if code is None:
        raise NotFound("no such code: check the letters and digits", code="invalid", field="code")
    try:
        ref = CustomerRef(card=body.card_code) if body.card_code else None
    except ValidationError as err:
        raise InvalidInput("card_code is not a card code", field="card_code") from err
    out = await request.app[STORE].claim_code(
        code, ref, now(request), request.app[RNG], strict=True
    )
    return json_answer(out, status=201)


def _html(text: str, status: int = 200) -> web.Response:
    resp = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def _problem(request: web.Request, err: StoreError) -> web.Response:
    """Why the code cannot be claimed; a refresh after this phone's claim (already claimed)
    leads to the card it keeps."""
    problem = err.code if err.code in _PROBLEMS else "invalid"
    lang = customer_language(request)
    keeps_card = problem == "already_claimed" and await card_from_cookie(request) is not None
    card_url = "/card" if keeps_card else ""
    page_html = render_claim_problem(problem, lang, card_url=card_url)  # type: ignore[arg-type]
    return _no_store(html_page(request, page_html, lang, err.status))


def _no_store(resp: web.Response) -> web.Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def type_code_page(request: web.Request) -> web.Response:
    """``GET /I?code=``: a customer types the code printed under the QR; a code that can be
    one goes to its claim page."""
    typed = request.query.get("code", "")
    code = codes.canonical(typed[:40]) if typed else None
    if code is not None:
        raise web.HTTPSeeOther(f"/I/{code}")
    lang = customer_language(request)
    problem = (
        f'<p class="bad" role="alert">{escape(t("insert.not_a_code", lang))}</p>' if typed else ""
    )
    title = t("insert.type.title", lang)
    body = (
        f'<section class="card" id="type-code"><h1>{escape(title)}</h1>' + problem
        + '<form method="get" action="/I"><p><label for="code">'
        f'{escape(t("insert.type.label", lang))}</label>'
        '<br><input id="code" name="code" autocomplete="off" autocapitalize="characters" '
        'maxlength="20" required style="font:inherit;padding:8px;width:100%"></p>'
        f'<p><button class="btn" type="submit">{escape(t("insert.continue", lang))}</button></p>'
        "</form></section>"
    )  # fmt: skip
    html = page(title, body, lang=lang, langs=True)
    return _no_store(html_page(request, html, lang, 422 if typed else 200))


async def insert_page(request: web.Request) -> web.Response:
    """``GET /I/{code}``: check the code, offer one button (a GET never claims); right after
    this phone's claim (its POST's redirect), what the claim gave, once."""
    code = codes.canonical(request.match_info["code"])
    lang = customer_language(request)
    if code is None:
        return _no_store(html_page(request, render_claim_problem("invalid", lang), lang, 404))
    done = claimed_view(request, code)
    if done is not None:
        resp = html_page(request, render_claim_done(done, lang), lang)
        return _no_store(forget_result(request, resp))
    try:
        kind, stamps, title = await request.app[STORE].code_status(code, now(request))
    except StoreError as err:
        return await _problem(request, err)
    if kind == "stamps":
        return _no_store(html_page(request, render_claim_offer(stamps, request.path, lang), lang))
    body = (
        '<section class="card" id="offer">'
        f"<h1>{escape(title)}</h1><p>{escape(t('insert.voucher', lang))}</p>"
        f'<form method="post" action="{escape(request.path)}">'
        '<button class="btn" type="submit" id="claim">'
        f"{escape(t('insert.collect', lang))}</button></form></section>"
    )
    html = page(t("insert.collect.title", lang), body, lang=lang, langs=True)
    return _no_store(html_page(request, html, lang))


async def insert_page_post(request: web.Request) -> web.Response:
    """``POST /I/{code}`` (the page's button): claim onto this phone's card or a new one, then
    303 to the page (POST-redirect-GET: a refresh never claims again)."""
    code = codes.canonical(request.match_info["code"])
    lang = customer_language(request)
    if code is None:
        return _no_store(html_page(request, render_claim_problem("invalid", lang), lang, 404))
    store = request.app[STORE]
    kept = await card_from_cookie(request)
    ref = CustomerRef(card=kept) if kept else None
    at: datetime = now(request)
    try:  # a card this phone kept that is gone: a new card
        out = await store.claim_code(code, ref, at, request.app[RNG])
    except StoreError as err:
        return await _problem(request, err)
    card = await store.card(out.card_code, at, None)
    view = ClaimView(
        stamps_added=out.stamps, balance=out.balance, goal=out.goal,
        card_url=await card_link(request, out.card_code),
        business=await store.business_name(card.business_id),
        rewards=reward_views(out.rewards),
    )  # fmt: skip
    await redirect_to_result(request, code, view, out.card_code)


async def get_plan(request: web.Request) -> web.Response:
    """``GET /v1/plan``: the plan, this month's card operations (and any overrun), seats."""
    who = await admin_principal(request)
    return json_answer(await request.app[STORE].plan_usage(who.business_id, now(request)))


def add_backoffice_routes(app: web.Application) -> None:
    """The back office's API routes and the insert claim page."""
    r = app.router
    r.add_post("/v1/vouchers", post_voucher)
    r.add_post("/v1/vouchers/batch", post_batch)
    r.add_get("/v1/vouchers/batch", get_batches)
    r.add_get(r"/v1/vouchers/batch/{id}.{fmt:pdf|csv|escpos}", get_batch_file)
    r.add_post("/v1/inserts/{code}", post_insert_claim)
    r.add_get("/v1/plan", get_plan)
    for prefix in ("/I", "/i"):
        r.add_get(prefix, type_code_page)
        r.add_get(prefix + "/{code}", insert_page)
        r.add_post(prefix + "/{code}", insert_page_post)
