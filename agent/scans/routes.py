"""The scanner channel inside the agent: ``POST /v1/scans`` and the scanner sources' lifecycle.

The rules of what a scan does live in ``agent.scans.service``.
"""

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from agent.http.errors import Unavailable
from agent.http.handlers import Handler, add_routes
from agent.http.models import ErrorAnswer, ScanRequest
from agent.http.state import DB, DEVICE, METRICS, ORDERS, PROGRAM, RUNTIME, SETTINGS
from agent.scans.service import ScanMetrics, ScanResult, ScanService
from drivers.scanner_set import ConfiguredScanner, ScanContext
from sync.contract.errors import Forbidden
from sync.web.http_util import json_answer, read_model
from sync.web.openapi import Operation

log = logging.getLogger(__name__)


@dataclass
class ScanChannel:
    """The channel's parts, set when the app starts (under ``SCANNING``)."""

    metrics: ScanMetrics
    service: ScanService | None = None
    scanners: list[ConfiguredScanner] = field(default_factory=list)


SCANNING = web.AppKey("scanning", ScanChannel)


async def _scanning_ctx(app: web.Application) -> AsyncIterator[None]:
    channel, orders = app[SCANNING], app[ORDERS]
    service = ScanService(
        app[SETTINGS],
        app[DB],
        orders,
        app[PROGRAM],
        channel.metrics,
        orders.clock,
        lookup=lambda: app[RUNTIME].customer_lookup,
    )
    channel.service = service
    orders.autopilot = service
    tasks = [asyncio.create_task(service.recorder.run(), name="scan-recorder")]
    tasks.append(asyncio.create_task(service.run_expiry(), name="autopilot-expiry"))
    for i, s in enumerate(app[SETTINGS].scanner):
        scanner = ConfiguredScanner(i, s, service.scan_line)
        channel.scanners.append(scanner)
        app[RUNTIME].scanners.append(scanner)
        scanner.runner.start()
    try:
        yield
    finally:
        orders.autopilot = None
        for scanner in channel.scanners:
            await scanner.runner.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await service.recorder.flush()


# -- HTTP -------------------------------------------------------------------------------


async def post_scan(request: web.Request) -> web.StreamResponse:
    req = await read_model(request, ScanRequest)
    service = request.app[SCANNING].service
    if service is None:
        raise Unavailable("the scanner channel is not running", code="not_ready")
    device = request.get(DEVICE)
    if device is None:
        ctx = ScanContext(f"api:{req.till or ''}", req.till, req.mode or "kiosk")
    elif device.role == "kiosk":
        if req.mode not in (None, "kiosk"):
            raise Forbidden("a kiosk scans in kiosk mode only", code="kiosk_only", field="mode")
        ctx = ScanContext(device.source, req.till, "kiosk")
    else:  # a staff phone: Manual mode unless it adds the card to a till's next check
        ctx = ScanContext(device.source, req.till, req.mode or "manual")
    result = await service.scan(req.code, ctx)
    status = 200
    if result.outcome == "throttled":
        status = 429
    elif result.outcome == "rejected" and result.reason != "duplicate":
        status = 422
    resp = json_answer(result, status)
    if result.retry_after_s is not None:
        resp.headers["Retry-After"] = str(math.ceil(result.retry_after_s))
    return resp


ROUTES: list[tuple[Operation, Handler]] = [
    (
        Operation(
            "POST",
            "/v1/scans",
            "A card scanned by staff or at a kiosk (mode kiosk by default, autopilot or manual)",
            {200: ScanResult, 403: ErrorAnswer, 422: ScanResult, 429: ScanResult, 503: ErrorAnswer},
            request=ScanRequest,
            tags=("scans",),
        ),
        post_scan,
    ),
]


def install_scanners(app: web.Application) -> None:
    """Add ``POST /v1/scans`` and the scanner sources' lifecycle to the agent's app."""
    app[SCANNING] = ScanChannel(metrics=ScanMetrics(app[METRICS]))
    add_routes(app, ROUTES)
    app.cleanup_ctx.append(_scanning_ctx)
