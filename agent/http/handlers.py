"""HTTP handlers of the agent and the route table the OpenAPI document is built from."""

import asyncio
import json
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.http.models import (
    CloudHealth,
    CustomersAnswer,
    CustomerView,
    DeadEvent,
    DeviceHealth,
    ErrorAnswer,
    HealthAnswer,
    OrderAnswer,
    OrderRequest,
    OrderView,
    OutboxHealth,
    ScannerHealth,
    VoidAnswer,
    VoidRequest,
)
from agent.http.state import CLOUD, DB, METRICS, ORDERS, OUTBOX, PAIRING, PROGRAM, RUNTIME, SETTINGS
from agent.http.status_page import StatusView, render_status_page
from agent.orders.body import read_order
from agent.orders.keys import TILL_QUERY, till_param
from agent.pages.status_section import PairingView, render_pairing_section
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.phones import PhoneError, canonical_phone, looks_like_phone
from sync.edge.state_pull import saved_country, saved_zone
from sync.web.caching import cacheable
from sync.web.http_util import json_answer, json_text_answer, no_body, read_model, read_object
from sync.web.local_time import zone
from sync.web.openapi import Operation, build_openapi
from sync.web.throttle import GUESSES, check

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VERSION = "0.1.0"


async def post_order(request: web.Request) -> web.StreamResponse:
    data = await read_object(request)
    if data is None:
        raise no_body()
    status, answer = await request.app[ORDERS].place(read_order(data))
    request.app[METRICS].orders.labels("created" if status == 201 else "repeat").inc()
    return json_text_answer(answer, status)


async def get_order(request: web.Request) -> web.StreamResponse:
    orders = request.app[ORDERS]
    return json_answer(await orders.view(request.match_info["order_id"], till_param(request)))


async def void_order(request: web.Request) -> web.StreamResponse:
    req = await read_model(request, VoidRequest, optional=True)
    answer = await request.app[ORDERS].void(
        request.match_info["order_id"], req, till_param(request)
    )
    return json_answer(answer)


async def get_customers(request: web.Request) -> web.StreamResponse:
    q = request.query.get("q", "").strip()
    if not q or len(q) > 254:
        return json_answer(CustomersAnswer(source="cache", customers=[]), 200)
    lookups = request.app[GUESSES].lookups
    client = check(request, lookups)  # six-digit numbers are few: misses count as guesses
    online = request.app[RUNTIME].customer_lookup
    if online is not None:
        found = await online.lookup(q)
        if found is not None:
            if not found:
                lookups.fail(client)
            return json_answer(
                CustomersAnswer(
                    source="cloud", customers=[CustomerView.model_validate(c) for c in found]
                )
            )
    phone = None
    if looks_like_phone(q):
        try:
            phone = canonical_phone(q, await saved_country(request.app[OUTBOX]))
        except PhoneError:
            phone = None
    rows = await request.app[OUTBOX].fetchall(
        "SELECT * FROM cards WHERE card_code = ? OR number = ? OR email = ? OR phone = ? "
        "OR name LIKE ? ESCAPE '\\' LIMIT 20",
        (
            canonical_card_text(q),
            q,
            canonical_email(q),
            phone,
            "%" + q.replace("%", "\\%").replace("_", "\\_") + "%",
        ),
    )
    goal = request.app[PROGRAM].current.goal  # the cache keeps balances; the goal is the program's
    if not rows:
        lookups.fail(client)
    return json_answer(
        CustomersAnswer(
            source="cache",
            customers=[CustomerView.model_validate({"goal": goal, **dict(r)}) for r in rows],
        )
    )


async def health_answer(app: web.Application) -> HealthAnswer:
    """The ``/health`` figures (also used by the status page)."""
    counts = await app[OUTBOX].counts()
    dead = await app[OUTBOX].rows("dead", limit=5) if counts.dead else []
    cloud = app[CLOUD]
    runtime = app[RUNTIME]
    scanners = [ScannerHealth.model_validate(s.health()) for s in runtime.scanners]
    printer = DeviceHealth(state="disabled", detail="no printer configured")
    if runtime.printer is not None:
        state, detail = runtime.printer.health()
        printer = DeviceHealth(state=state, detail=detail)
    section = app[SETTINGS].agent
    disk = await asyncio.to_thread(disk_health, section.data_dir, section.min_free_disk_mb)
    degraded = (
        disk.state != "ok"
        or counts.dead > 0
        or any(s.state not in ("ok", "listening") for s in scanners)
        or printer.state in ("error", "paper_out", "cover_open", "offline")
    )
    return HealthAnswer(
        status="degraded" if degraded else "ok",
        version=VERSION,
        uptime_s=round(time.time() - runtime.started_at, 3),
        database=runtime.database,
        outbox=OutboxHealth(
            **counts.model_dump(),
            dead_events=[
                DeadEvent(event_id=r.event_id, type=r.type, reason=r.last_error) for r in dead
            ],
        ),
        cloud=CloudHealth(
            reachable=cloud.reachable, last_sync_at=cloud.last_sync_at, last_error=cloud.last_error
        ),
        printer=printer,
        scanners=scanners,
        disk=disk,
    )


def disk_health(folder: Path, min_free_mb: int) -> DeviceHealth:
    """``low`` when the database's disk has less than ``min_free_mb`` left (a full disk once
    showed ``ok`` while no check could be written)."""
    try:
        free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
    except OSError as err:
        return DeviceHealth(state="error", detail=f"cannot read the disk: {err.strerror}")
    if free_mb < min_free_mb:
        return DeviceHealth(state="low", detail=f"{free_mb} MB free (under {min_free_mb} MB)")
    return DeviceHealth(state="ok", detail=f"{free_mb} MB free")


async def health(request: web.Request) -> web.StreamResponse:
    return json_answer(await health_answer(request.app))


async def metrics(request: web.Request) -> web.StreamResponse:
    m = request.app[METRICS]
    m.set_outbox(await request.app[OUTBOX].counts())
    return web.Response(body=m.render(), content_type="text/plain", charset="utf-8")


async def openapi(request: web.Request) -> web.StreamResponse:
    """``GET /openapi.json``: built once (off the loop: pydantic's schemas take a while), then
    served from memory with its ETag."""
    runtime = request.app[RUNTIME]
    if runtime.openapi_json is None:
        bearer = bool(request.app[SETTINGS].agent.token.get_secret_value())
        ops = list(runtime.operations)
        runtime.openapi_json = await asyncio.to_thread(_openapi_json, ops, bearer)
    return cacheable(request, runtime.openapi_json, "application/json")


def _openapi_json(ops: list[Operation], bearer: bool) -> bytes:
    doc = build_openapi("Stampedge agent", VERSION, ops, bearer=bearer, error_model=ErrorAnswer)
    return json.dumps(doc).encode()


async def status_page(request: web.Request) -> web.StreamResponse:
    app = request.app
    printer = app[RUNTIME].printer
    dead = await app[OUTBOX].rows("dead", limit=20)
    tz = await branch_zone(app)
    view = StatusView(
        health=await health_answer(app),
        recent_orders=await app[ORDERS].recent(),
        print_jobs=await printer.recent_jobs(10) if printer is not None else [],
        dead_letters=[
            {"type": d.type, "order_id": d.payload.get("order_id"), "last_error": d.last_error}
            for d in dead
        ],
        can_print=printer is not None,
        pairing=await _pairing_section(request, tz),
        tz=tz,
        now=datetime.now(UTC),
        lang=app[PROGRAM].language,
    )
    return web.Response(text=render_status_page(view), content_type="text/html")


async def branch_zone(app: web.Application) -> ZoneInfo:
    """The branch's time zone for people: the cloud's (its sync state) once known, else
    ``agent.branch_timezone``."""
    return zone(await saved_zone(app[DB]) or app[SETTINGS].agent.branch_timezone)


async def _pairing_section(request: web.Request, tz: ZoneInfo) -> str:
    app, now = request.app, time.time()
    book = app[PAIRING]
    counts = await app[OUTBOX].fetchall(
        "SELECT source, COUNT(*) AS n FROM scans WHERE source LIKE 'device:%' GROUP BY source"
    )
    view = PairingView(
        base_url=f"{request.scheme}://{request.host}",
        now=now,
        code=book.current_code(now),
        sessions=book.sessions(),
        scans={r["source"]: r["n"] for r in counts},
        tz=tz,
        lang=app[PROGRAM].language,
    )
    # the pairing QR is drawn by pure-Python qrcode (and its first use imports it): a thread
    return await asyncio.to_thread(render_pairing_section, view)


ROUTES: list[tuple[Operation, Handler]] = [
    (
        Operation(
            "POST",
            "/v1/orders",
            "Record a paid check: stamps, receipt QR or identified customer",
            {201: OrderAnswer, 200: OrderAnswer, 409: ErrorAnswer, 503: ErrorAnswer},
            request=OrderRequest,
            tags=("orders",),
        ),
        post_order,
    ),
    (
        Operation(
            "GET",
            "/v1/orders/{order_id}",
            "A recorded check as POST answered it, and its void",
            {200: OrderView, 404: ErrorAnswer, 409: ErrorAnswer, 422: ErrorAnswer},
            query=TILL_QUERY,
            tags=("orders",),
        ),
        get_order,
    ),
    (
        Operation(
            "POST",
            "/v1/orders/{order_id}/void",
            "Take a check's stamps back",
            {200: VoidAnswer, 404: ErrorAnswer, 409: ErrorAnswer, 503: ErrorAnswer},
            query=TILL_QUERY,
            request=VoidRequest,
            request_required=False,
            tags=("orders",),
        ),
        void_order,
    ),
    (
        Operation(
            "GET",
            "/v1/customers",
            "Look a customer up by card code, number, email or name",
            {200: CustomersAnswer},
            query={"q": {"required": False, "schema": {"type": "string"}}},
            tags=("customers",),
        ),
        get_customers,
    ),
    (Operation("GET", "/health", "Health", {200: HealthAnswer}, auth=False), health),
    (Operation("GET", "/metrics", "Prometheus metrics", {200: "text/plain"}), metrics),
    (
        Operation("GET", "/openapi.json", "This document", {200: "application/json", 304: None}),
        openapi,
    ),
    (Operation("GET", "/", "Status page", {200: "text/html"}), status_page),
]


def add_routes(app: web.Application, routes: list[tuple[Operation, Handler]]) -> None:
    """Add routes and document them in ``/openapi.json``."""
    for op, handler in routes:
        if op.method == "GET":
            app.router.add_get(op.path, handler)  # and HEAD
        else:
            app.router.add_route(op.method, op.path, handler)
        app[RUNTIME].operations.append(op)
