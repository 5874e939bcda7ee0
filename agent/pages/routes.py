"""The pages for phones and tablets in the agent's app: pairing, ``/kiosk``, ``/staff``, their
static files, and the middleware that lets a paired device's cookie in (to its own routes only).

A paired device's cookie opens only the routes of its role (``DEVICE_ROUTES``); everything else
still needs the agent's token, as before. A kiosk may scan in ``kiosk`` mode only.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware

from agent.http.handlers import Handler, add_routes
from agent.http.models import ErrorAnswer
from agent.http.state import DB, DEVICE, DEVICE_PROBLEM, PAIRING, PROGRAM, SETTINGS
from agent.pages.html import render_pair_page
from agent.pages.kiosk_page import render_kiosk_page
from agent.pages.pairing import COOKIE, ROLES, PairingBook, PairingRefused, Role
from agent.pages.staff_page import render_staff_page
from agent.pages.static_files import StaticFile, load_static, static_answer
from sync.contract.errors import ApiError, Forbidden, InvalidInput
from sync.web.http_util import read_form
from sync.web.openapi import Operation
from sync.web.texts import t

REDEEM_ROUTE = "/v1/rewards/{code}/redeem"
DEVICE_ROUTES: dict[Role, frozenset[tuple[str, str]]] = {
    "kiosk": frozenset({("GET", "/kiosk"), ("POST", "/v1/scans")}),
    "staff": frozenset(
        {
            ("GET", "/staff"),
            ("POST", "/v1/scans"),
            ("GET", "/v1/customers"),
            ("POST", REDEEM_ROUTE),
        }
    ),
}
PAGES = frozenset({"/kiosk", "/staff"})
# Paths the agent's token does not guard: the pairing form, the pages (which demand a paired
# device themselves) and their static files.
OPEN_PATHS = frozenset({"/pair", *PAGES})
OPEN_PREFIXES = ("/static/",)
COOKIE_MAX_AGE = int(timedelta(days=400).total_seconds())  # the most browsers keep


def _route_of(request: web.Request) -> tuple[str, str]:
    resource = request.match_info.route.resource
    method = "GET" if request.method == "HEAD" else request.method
    return method, resource.canonical if resource is not None else request.path


def device_middleware() -> Middleware:
    """Take a paired device's cookie on the routes devices use; refuse a revoked one there."""
    any_device = frozenset().union(*DEVICE_ROUTES.values())

    @web.middleware
    async def devices(request: web.Request, handler: Handler) -> web.StreamResponse:
        token = request.cookies.get(COOKIE)
        route = _route_of(request)
        if not token or route not in any_device:
            return await handler(request)
        try:
            session = request.app[PAIRING].check(token)
            if route not in DEVICE_ROUTES[session.role]:
                raise Forbidden(
                    f"a {session.role} device cannot use {route[1]}", code="wrong_device_role"
                )
        except ApiError as err:
            if request.path not in PAGES:
                raise
            request[DEVICE_PROBLEM] = err.code
            return await handler(request)
        request[DEVICE] = session
        return await handler(request)

    return devices


def is_open(path: str) -> bool:
    """True for what an unpaired, unsigned device may load (the token middleware asks)."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text, status=status, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


# What the pairing form says when a code is refused (by the refusal's code).
PAIR_PROBLEMS: dict[str, str] = {"no_code": "pair.no_code", "wrong_code": "pair.wrong_code"}


def _lang(request: web.Request) -> str:
    """The branch's language (these pages are the shop's tablets and phones)."""
    return request.app[PROGRAM].language


def _unpaired(request: web.Request) -> web.Response:
    problem = request.get(DEVICE_PROBLEM)
    status = ""
    if problem == "device_revoked":
        status = t("pair.revoked", _lang(request))
    elif problem == "wrong_device_role":
        status = t("pair.wrong_role", _lang(request))
    shop = request.app[PROGRAM].shop
    resp = _html(render_pair_page(status=status, lang=_lang(request), shop=shop), 401)
    if problem == "device_revoked":
        resp.del_cookie(COOKIE, path="/")
    return resp


async def get_pair(request: web.Request) -> web.StreamResponse:
    code = request.query.get("code", "")[:9]
    return _html(render_pair_page(code=code if code.isdigit() else "", lang=_lang(request)))


async def post_pair(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    code, name = form.get("code", ""), form.get("name", "")
    try:
        session, token = await request.app[PAIRING].pair(code, name, time.time())
    except PairingRefused as err:
        lang = _lang(request)
        problem = t(PAIR_PROBLEMS.get(err.code, "pair.wrong_code"), lang)
        return _html(render_pair_page(problem=problem, lang=lang), 403)
    resp = web.HTTPSeeOther(f"/{session.role}")
    resp.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    raise resp


async def kiosk_page(request: web.Request) -> web.StreamResponse:
    session = request.get(DEVICE)
    if session is None:
        return _unpaired(request)
    shop = request.app[PROGRAM].shop
    return _html(render_kiosk_page(device_name=session.name, lang=_lang(request), shop=shop))


async def staff_page(request: web.Request) -> web.StreamResponse:
    session = request.get(DEVICE)
    if session is None:
        return _unpaired(request)
    app = request.app
    tills = [s.till for s in app[SETTINGS].scanner if s.mode == "autopilot"]
    rows = await app[DB].fetchall(
        "SELECT till, MAX(created_at) AS at FROM orders WHERE till IS NOT NULL "
        "GROUP BY till ORDER BY at DESC LIMIT 20"
    )
    tills += [r["till"] for r in rows]
    can_redeem = any(
        r.resource is not None and r.resource.canonical == REDEEM_ROUTE for r in app.router.routes()
    )
    return _html(
        render_staff_page(
            device_name=session.name,
            tills=list(dict.fromkeys(tills)),
            can_redeem=can_redeem,
            lang=_lang(request),
        )
    )


def _role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise InvalidInput(f"role: must be one of {', '.join(ROLES)}", field="role")


async def open_code(request: web.Request) -> web.StreamResponse:
    """The status page's "pair a kiosk / a staff phone" buttons (plain forms, no script)."""
    form = await read_form(request)
    request.app[PAIRING].open_code(_role(form.get("role", "")), time.time())
    raise web.HTTPSeeOther("/#pairing")


async def close_code(request: web.Request) -> web.StreamResponse:
    request.app[PAIRING].close_code()
    raise web.HTTPSeeOther("/#pairing")


async def revoke(request: web.Request) -> web.StreamResponse:
    await request.app[PAIRING].revoke(request.match_info["session_id"], time.time())
    raise web.HTTPSeeOther("/#pairing")


STATIC_FILES = web.AppKey("static_files", dict[str, StaticFile])


async def get_static(request: web.Request) -> web.StreamResponse:
    return static_answer(request.app[STATIC_FILES], request)


HTML = "text/html"
ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("GET", "/pair", "Pairing form", {200: HTML}, auth=False), get_pair),
    (
        Operation(
            "POST",
            "/pair",
            "Pair this device (form: code, name)",
            {303: None, 403: HTML, 422: ErrorAnswer},
            auth=False,
        ),
        post_pair,
    ),
    (
        Operation(
            "GET", "/kiosk", "Kiosk page (a paired kiosk)", {200: HTML, 401: HTML}, auth=False
        ),
        kiosk_page,
    ),
    (
        Operation(
            "GET",
            "/staff",
            "Staff scanner (a paired staff device)",
            {200: HTML, 401: HTML},
            auth=False,
        ),
        staff_page,
    ),
    (
        Operation(
            "POST",
            "/pairing/code",
            "Open a pairing code (form: role)",
            {303: None, 422: ErrorAnswer},
        ),
        open_code,
    ),
    (Operation("POST", "/pairing/close", "Withdraw the pairing code", {303: None}), close_code),
    (
        Operation(
            "POST",
            "/pairing/sessions/{session_id}/revoke",
            "Unpair a device",
            {303: None, 404: ErrorAnswer},
        ),
        revoke,
    ),
    (
        Operation(
            "GET",
            "/static/{name}",
            "The pages' scripts and styles",
            {200: "text/javascript", 304: None, 404: ErrorAnswer},
            auth=False,
        ),
        get_static,
    ),
]


async def _pages_ctx(app: web.Application) -> AsyncIterator[None]:
    app[STATIC_FILES] = await asyncio.to_thread(load_static)
    book = PairingBook(app[DB])
    await book.load()
    app[PAIRING] = book
    yield


def install_pages(app: web.Application) -> None:
    """Add the pairing, kiosk and staff pages and their static files to the agent's app."""
    add_routes(app, ROUTES)
    app.cleanup_ctx.append(_pages_ctx)
