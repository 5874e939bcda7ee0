"""A customer's data-protection requests.

- ``GET /v1/customers/{id}/export`` and ``DELETE /v1/customers/{id}`` (admin key): answered by
  the shop owner.
- ``POST /card/export`` and ``POST /card/erase`` (the card page's forms): the customer asks
  from the phone that holds the card (its signed cookie), only once the card's email is
  verified (a one-time link, ``identity_http``); the cross-site guard refuses these forms from
  another origin, as every card form. The export is the owner's JSON, as a download; the
  erasure is the owner's too, with ``requested_by = "customer"``, and the phone forgets the
  card. No card here (no cookie, a forged one, a merged-away card): 401; a card without a
  verified email: 403; nothing is exported or erased.
"""

from aiohttp import web

from sync.cloud.card_links import card_from_cookie, forget_card
from sync.cloud.errors import NotFound
from sync.cloud.http import STORE, int_param, now, principal
from sync.cloud.page_language import customer_language, html_page
from sync.cloud.store.identity import Identity
from sync.cloud.ui.privacy_page import Refusal, render_erased, render_refused
from sync.web.http_util import json_answer, read_form

EXPORT_FILENAME = "my-stamp-card.json"


def _customer_id(request: web.Request) -> int:
    text = request.match_info["id"]
    found = int_param(text, "id") if text.isdigit() else None
    if found is None or not 1 <= found < 2**62:
        raise NotFound("no such customer in this business", code="unknown_customer", field="id")
    return found


async def get_export(request: web.Request) -> web.Response:
    """``GET /v1/customers/{id}/export``: everything kept about the customer, as JSON."""
    who = await principal(request, need="admin")
    out = await request.app[STORE].export_customer(
        who.business_id, _customer_id(request), now(request)
    )
    return json_answer(out)


async def delete_customer(request: web.Request) -> web.Response:
    """``DELETE /v1/customers/{id}``: erase the customer's personal data here and, through the
    sync state, at every till; the shop's figures stay. Again: the same answer."""
    who = await principal(request, need="admin")
    out = await request.app[STORE].erase_customer(
        who.business_id, _customer_id(request), now(request), requested_by="admin_key"
    )
    return json_answer(out)


def _page(request: web.Request, text: str, lang: str, status: int = 200) -> web.Response:
    resp = html_page(request, text, lang, status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _refused(request: web.Request, problem: Refusal) -> web.Response:
    lang = customer_language(request)
    status = {"no_card": 401, "unverified": 403, "unconfirmed": 422}[problem]
    return _page(request, render_refused(problem, lang), lang, status)


async def _verified_card(request: web.Request) -> tuple[int, int] | Refusal:
    """The business and customer of the card this phone holds, if its email is verified."""
    code = await card_from_cookie(request)
    if code is None:
        return "no_card"
    customer_id, business_id, email = await Identity(request.app[STORE].db).card_id(code)
    return "unverified" if email is None else (business_id, customer_id)


async def card_export(request: web.Request) -> web.Response:
    """``POST /card/export``: the customer's own data, the owner's export as a download."""
    found = await _verified_card(request)
    if isinstance(found, str):
        return _refused(request, found)
    out = await request.app[STORE].export_customer(*found, now(request))
    resp = json_answer(out)
    resp.headers["Content-Disposition"] = f'attachment; filename="{EXPORT_FILENAME}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def card_erase(request: web.Request) -> web.Response:
    """``POST /card/erase`` (``confirm=yes``, the form's required tick box): erase the card and
    its person, as the owner's ``DELETE`` would, and forget the card on this phone."""
    found = await _verified_card(request)
    if isinstance(found, str):
        return _refused(request, found)
    form = await read_form(request)
    if form.get("confirm") != "yes":
        return _refused(request, "unconfirmed")
    await request.app[STORE].erase_customer(*found, now(request), requested_by="customer")
    lang = customer_language(request)
    resp = _page(request, render_erased(lang), lang)
    forget_card(request, resp)
    return resp


def add_privacy_routes(app: web.Application) -> None:
    """Register the export and erasure routes (the owner's and the card page's)."""
    app.router.add_get("/v1/customers/{id}/export", get_export)
    app.router.add_delete("/v1/customers/{id}", delete_customer)
    app.router.add_post("/card/export", card_export)
    app.router.add_post("/card/erase", card_erase)
