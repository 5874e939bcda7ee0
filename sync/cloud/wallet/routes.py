"""The wallet's HTTP routes.

- ``GET /card/{card_code}/{sig}/pass.pkpass`` (the customer's private card link) and
  ``GET /v1/cards/{card_code}/pass.pkpass`` (admin key): the card's Apple Wallet pass.
- ``GET /card/{card_code}/{sig}/google``: a redirect to the card's "Save to Google Wallet" link.
- Apple's PassKit web service under ``/wallet/apple/v1`` (register, unregister, the serials
  updated since a tag, the latest pass, log), devices authenticated by
  ``Authorization: ApplePass <authenticationToken>``.
"""

import asyncio
import hmac
import logging
import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

from sync.cloud.card_links import signature
from sync.cloud.errors import InvalidInput, NotFound, Unauthorized
from sync.cloud.http import STORE, now, principal, read_body
from sync.cloud.wallet import passes_db
from sync.cloud.wallet.bodies import LogBody, Registration
from sync.cloud.wallet.images import logo_png, parse_rgb
from sync.cloud.wallet.keys import WALLET
from sync.cloud.wallet.passes_db import PassRow
from sync.cloud.wallet.pkpass import CONTENT_TYPE
from sync.cloud.wallet.service import card_pass, google_save_url, now_us, pkpass, token_ok

log = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_MAX_LOGS = 50
_BG, _FG = "rgb(60, 40, 30)", "rgb(255, 255, 255)"  # without [wallet.apple] colours


def _pkpass_response(body: bytes, updated_us: int) -> web.Response:
    resp = web.Response(body=body, content_type=CONTENT_TYPE)
    resp.headers["Last-Modified"] = format_datetime(
        datetime.fromtimestamp(updated_us // 1_000_000, UTC), usegmt=True
    )
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Content-Disposition"] = 'attachment; filename="card.pkpass"'
    return resp


async def _checked_code(request: web.Request) -> str:
    code, sig = request.match_info["card_code"].upper(), request.match_info["sig"]
    if len(code) > 64 or len(sig) > 64:
        raise NotFound("no card at this link", code="unknown_card")
    try:
        expected = await signature(request, code)
    except NotFound:
        expected = ""
    if not expected or not hmac.compare_digest(sig.lower(), expected):
        raise NotFound("no card at this link", code="unknown_card")
    return code


async def _send_pass(request: web.Request, code: str) -> web.Response:
    wallet = request.app[WALLET]
    cp = await card_pass(request.app[STORE], wallet, code, now(request))
    body = await asyncio.to_thread(pkpass, wallet, cp)
    return _pkpass_response(body, cp.row.updated_us)


async def card_pkpass(request: web.Request) -> web.Response:
    """``GET /card/{card_code}/{sig}/pass.pkpass``: the card's Apple Wallet pass."""
    return await _send_pass(request, await _checked_code(request))


async def admin_pkpass(request: web.Request) -> web.Response:
    """``GET /v1/cards/{card_code}/pass.pkpass`` (admin key): a card of the business's pass."""
    who = await principal(request, need="admin")
    code = request.match_info["card_code"].upper()
    card = await request.app[STORE].card(code, now(request), who)
    if card.business_id != who.business_id:
        raise NotFound("no card with this code", code="unknown_card", field="card_code")
    return await _send_pass(request, code)


async def card_google(request: web.Request) -> web.Response:
    """``GET /card/{card_code}/{sig}/google``: on to Google's save page for the card."""
    code = await _checked_code(request)
    wallet = request.app[WALLET]
    cp = await card_pass(request.app[STORE], wallet, code, now(request), google=True)
    raise web.HTTPSeeOther(google_save_url(wallet, cp, int(time.time())))


async def wallet_logo(request: web.Request) -> web.Response:
    """``GET /wallet/logo.png``: the logo Google's loyalty class shows."""
    a = request.app[WALLET].settings.apple
    bg, fg = (a.background_color, a.foreground_color) if a else (_BG, _FG)
    return web.Response(body=logo_png(parse_rgb(bg), parse_rgb(fg), 3), content_type="image/png")


# Apple's PassKit web service -----------------------------------------------------------------


def _ids(request: web.Request) -> tuple[str, str]:
    pass_type = request.match_info["pass_type_id"]
    wallet = request.app[WALLET]
    if wallet.settings.apple is None or pass_type != wallet.settings.apple.pass_type_id:
        raise NotFound("unknown pass type", field="passTypeIdentifier")
    device = request.match_info.get("device_id", "")
    if device and not _ID.match(device):
        raise InvalidInput("not a device library identifier", field="deviceLibraryIdentifier")
    return device, pass_type


async def _authorized(request: web.Request) -> PassRow:
    serial = request.match_info["serial"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "ApplePass" or not token or len(serial) > 64 or len(token) > 200:
        raise Unauthorized("Authorization: ApplePass <authenticationToken> is needed")
    row = await passes_db.get_pass(request.app[STORE].db, serial)
    if row is None or not token_ok(row, token.strip()):
        raise Unauthorized("not this pass's authentication token")
    return row


async def register(request: web.Request) -> web.Response:
    """``POST …/v1/devices/{device}/registrations/{passType}/{serial}``: 201 new, 200 known."""
    device, pass_type = _ids(request)
    row = await _authorized(request)
    body = await read_body(request, Registration)
    created = await passes_db.register(
        request.app[STORE].db, row.business_id, device, pass_type, row.serial, body.pushToken,
        now_us(),
    )  # fmt: skip
    return web.json_response({}, status=201 if created else 200)


async def unregister(request: web.Request) -> web.Response:
    """``DELETE …/v1/devices/{device}/registrations/{passType}/{serial}``."""
    device, pass_type = _ids(request)
    row = await _authorized(request)
    db = request.app[STORE].db
    await passes_db.unregister(db, row.business_id, device, pass_type, row.serial)
    return web.json_response({})


async def updated_serials(request: web.Request) -> web.Response:
    """``GET …/v1/devices/{device}/registrations/{passType}?passesUpdatedSince=``: 200 with
    ``serialNumbers`` and ``lastUpdated``, 204 when none changed."""
    device, pass_type = _ids(request)
    since_text = request.query.get("passesUpdatedSince", "")
    since = 0
    if since_text:
        if not since_text.isdigit() or len(since_text) > 18:
            raise InvalidInput(
                "passesUpdatedSince is a tag this service gave", field="passesUpdatedSince"
            )
        since = int(since_text)
    found = await passes_db.serials_since(request.app[STORE].db, device, pass_type, since)
    if not found:
        return web.Response(status=204)
    return web.json_response(
        {"serialNumbers": [s for s, _ in found], "lastUpdated": str(max(u for _, u in found))}
    )


async def latest_pass(request: web.Request) -> web.Response:
    """``GET …/v1/passes/{passType}/{serial}``: the pass now; 304 if not modified since."""
    _ids(request)
    row = await _authorized(request)
    wallet = request.app[WALLET]
    cp = await card_pass(request.app[STORE], wallet, row.serial, now(request))
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            when = None
        if when is not None and cp.row.updated_us // 1_000_000 <= int(when.timestamp()):
            return web.Response(status=304)
    body = await asyncio.to_thread(pkpass, wallet, cp)
    return _pkpass_response(body, cp.row.updated_us)


async def device_log(request: web.Request) -> web.Response:
    """``POST …/v1/log``: what devices say went wrong, into the cloud's log."""
    body = await read_body(request, LogBody)
    for line in body.logs[:_MAX_LOGS]:
        log.warning("wallet device log: %s", line[:500])
    return web.json_response({})


def add_wallet_routes(app: web.Application, *, apple: bool, google: bool) -> None:
    """The routes of the configured wallets."""
    r = app.router
    if apple:
        r.add_get("/card/{card_code}/{sig}/pass.pkpass", card_pkpass)
        r.add_get("/v1/cards/{card_code}/pass.pkpass", admin_pkpass)
        base = "/wallet/apple/v1"
        reg = base + "/devices/{device_id}/registrations/{pass_type_id}"
        r.add_post(reg + "/{serial}", register)
        r.add_delete(reg + "/{serial}", unregister)
        r.add_get(reg, updated_serials)
        r.add_get(base + "/passes/{pass_type_id}/{serial}", latest_pass)
        r.add_post(base + "/log", device_log)
    if google:
        r.add_get("/card/{card_code}/{sig}/google", card_google)
    if apple or google:
        r.add_get("/wallet/logo.png", wallet_logo)
