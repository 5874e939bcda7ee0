"""The agent's aiohttp application: routes, middlewares and the lifecycles of its parts."""

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Middleware

from agent.cloud_link import install_sync
from agent.db import open_agent_db
from agent.http import handlers
from agent.http.metrics import AgentMetrics
from agent.http.state import (
    CLOCK,
    CLOUD,
    DB,
    DEVICE,
    METRICS,
    ORDERS,
    OUTBOX,
    PROGRAM,
    RESULTS,
    RUNTIME,
    SETTINGS,
    CloudStatus,
    Runtime,
)
from agent.http.status_page import STATUS_SCRIPT_HASH, render_login_page
from agent.orders.program_source import ProgramSource, program_from_settings
from agent.orders.service import OrderService, utcnow
from agent.pages.routes import device_middleware, install_pages, is_open
from agent.printing.channel import install_printing
from agent.rewards.results import ResultStore
from agent.rewards.routes import install_rewards
from agent.scans.routes import install_scanners
from config import AgentSettings
from sync.edge.outbox import Outbox
from sync.web.caching import gzip_large_json
from sync.web.guard import GuardPolicy, install_guard
from sync.web.http_util import error_response, make_errors_middleware, read_form
from sync.web.phone_metadata import load_phone_metadata
from sync.web.throttle import GUESSES, Guesses, check

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_PATHS = frozenset({"/health"})


COOKIE = "stampedge_agent"


def _auth_middleware(token: str) -> Middleware:
    """Every route but ``/health`` needs the token: as a bearer header (the POS) or, for a
    person at the status page, as the same-site cookie the sign-in form sets. A paired device
    passes on its own routes (``agent.pages.routes``), and the pairing form is open."""
    expected = f"Bearer {token}".encode()
    cookie_value = hashlib.sha256(b"stampedge-agent-cookie:" + token.encode()).hexdigest()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or is_open(request.path) or request.get(DEVICE):
            return await handler(request)
        guesses = request.app[GUESSES].keys
        if request.path == "/login" and request.method == "POST":
            client = check(request, guesses)
            form = await read_form(request)
            given_token = form.get("token", "").encode()
            if not hmac.compare_digest(given_token, token.encode()):
                guesses.fail(client)
                return _html(
                    render_login_page(failed=True, lang=request.app[PROGRAM].language), 401
                )
            resp = web.HTTPSeeOther("/")
            resp.set_cookie(COOKIE, cookie_value, httponly=True, samesite="Strict")
            raise resp
        header = request.headers.get("Authorization", "").encode()
        cookie = request.cookies.get(COOKIE, "").encode()
        client = check(request, guesses) if header or cookie else ""
        if hmac.compare_digest(header, expected) or hmac.compare_digest(
            cookie, cookie_value.encode()
        ):
            return await handler(request)
        if client:
            guesses.fail(client)  # a wrong token or cookie is a guess
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            return _html(render_login_page(failed=False, lang=request.app[PROGRAM].language), 401)
        return error_response(
            401, "unauthorized", "this agent needs 'Authorization: Bearer <agent.token>'"
        )

    return auth


def _html(text: str, status: int) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")


def guard_policy(settings: AgentSettings) -> GuardPolicy:
    """Who may reach the agent from a browser: its own names and ``agent.allowed_origins``."""
    section = settings.agent
    return GuardPolicy.build(
        # Over TLS a rebinding name fails the certificate check in the browser; the names the
        # certificate holds are the agent's (no second list to keep)
        host_names=None if section.tls_cert else [section.host, *section.allowed_hosts],
        allowed_origins=section.allowed_origins,
        script_hashes=(STATUS_SCRIPT_HASH,),
    )


def build_app(
    settings: AgentSettings, *, clock: Callable[[], datetime] = utcnow
) -> web.Application:
    """The agent's app; its database and background parts open in ``cleanup_ctx``."""
    token = settings.agent.token.get_secret_value()
    # One outer layer answers errors as JSON and times every answer, errors included.
    middlewares: list[Middleware] = [
        gzip_large_json,
        make_errors_middleware("agent", metrics=METRICS),
        device_middleware(),
    ]
    if token:
        middlewares.append(_auth_middleware(token))
    app = web.Application(middlewares=middlewares, client_max_size=settings.agent.max_body_bytes)
    install_guard(app, guard_policy(settings))
    app[SETTINGS] = settings
    app[GUESSES] = Guesses()
    app[METRICS] = AgentMetrics()
    app[CLOUD] = CloudStatus()
    app[RUNTIME] = Runtime(started_at=time.time())
    app[PROGRAM] = ProgramSource(program_from_settings(settings.program), settings.agent.language)
    app[RESULTS] = ResultStore(webhook=bool(settings.pos.webhook_url))
    app[CLOCK] = clock

    async def database(app: web.Application) -> AsyncIterator[None]:
        # absolute() may read the working folder: not on the loop
        path = await asyncio.to_thread(settings.agent.database.absolute)
        app[RUNTIME].database = str(path)
        db = await open_agent_db(path)  # 0600 in a 0700 folder, made on its writer's thread
        app[DB] = db
        app[OUTBOX] = Outbox(db)
        app[ORDERS] = OrderService(settings, db, app[PROGRAM], clock=clock)
        log.info("agent database at %s", path)  # absolute: which file a service really opened
        try:
            yield
        finally:
            await db.close()

    app.on_startup.append(load_phone_metadata)
    app.cleanup_ctx.append(database)
    handlers.add_routes(app, handlers.ROUTES)
    # Each channel adds its routes and its background parts (after the database above).
    install_printing(app)
    install_scanners(app)
    install_sync(app)
    install_pages(app)
    install_rewards(app)
    return app


__all__ = ["build_app"]
