"""The printer channel inside the agent: print jobs, their routes and the printer worker.

``printers/`` builds bytes and moves them; this module is the adapter: it turns an order's answer
into a receipt, plans the job inside the order's transaction (``PrinterHook``), shows the printer
on ``/health`` (``PrinterStatus``) and converts printer errors into HTTP answers.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.http.errors import Conflict, InvalidInput, NotFound
from agent.http.handlers import Handler, add_routes
from agent.http.models import ErrorAnswer, OrderAnswer, PrintInfo
from agent.http.state import DB, METRICS, ORDERS, PROGRAM, RUNTIME, SETTINGS
from agent.orders.keys import TILL_QUERY, find_order, till_param
from agent.orders.program_source import ProgramSource
from config import AgentSettings
from config.agent import PrinterSettings
from printers.connections import make_connection
from printers.errors import PrinterConfigError, PrintJobNotFound, PrintJobStateError
from printers.escpos_qr import QrMode
from printers.jobs import PrintJobView, view_of
from printers.profile import Capabilities, capabilities
from printers.qr_export import MAX_SCALE, qr_escpos, qr_png, qr_svg
from printers.receipt import Receipt
from printers.selftest import self_test_receipt
from printers.service import PrintService
from sync.contract.languages import DEFAULT_LANGUAGE, Language
from sync.edge.outbox import Stmt
from sync.web.caching import cacheable
from sync.web.http_util import json_answer
from sync.web.local_time import zone
from sync.web.openapi import Body, Operation

log = logging.getLogger(__name__)


def receipt_for(
    answer: OrderAnswer,
    tz: ZoneInfo,
    lines: Sequence[str] = (),
    shop: str = "",
    language: Language = "en",
) -> Receipt:
    """What goes on paper for an order's answer (times shown in the branch's zone, words in its
    language); ``lines``: the rewards redeemed on it, a reward ready on the card; ``shop``: the
    business's name."""
    return Receipt(
        shop=shop,
        language=language,
        lines=list(lines),
        order_id=answer.order_id,
        claim_url=answer.claim.url if answer.claim else None,
        stamps=answer.stamps,
        total=Decimal(answer.total),
        currency=answer.currency,
        till=answer.till,
        issued_at=answer.recorded_at.astimezone(tz),
        expires_at=answer.claim.expires_at.astimezone(tz) if answer.claim else None,
    )


class PrinterChannel:
    """The print service as the order path (``PrinterHook``) and ``/health`` see it."""

    def __init__(
        self, service: PrintService, settings: AgentSettings, program: ProgramSource | None = None
    ) -> None:
        self.service = service
        self.settings = settings
        self.program = program  # the cloud's word on the branch: the shop's name
        self.tz = zone(settings.agent.branch_timezone)

    @property
    def shop(self) -> str:
        """The shop's name for receipts ("" until the cloud has said it)."""
        return self.program.shop if self.program is not None else ""

    @property
    def language(self) -> Language:
        """The branch's language for receipts (see ``ProgramSource.language``)."""
        if self.program is not None:
            return self.program.language
        return self.settings.agent.language or DEFAULT_LANGUAGE

    @property
    def enabled(self) -> bool:
        return self.service.enabled

    def plan_order_receipt(
        self,
        answer: OrderAnswer,
        *,
        expires_at: datetime | None,
        now: datetime,
        lines: Sequence[str] = (),
    ) -> tuple[PrintInfo, list[Stmt]]:
        """The order's receipt job, committed with the order (pure: no I/O here)."""
        view, stmt = self.service.plan(
            receipt_for(answer, self.tz, lines, self.shop, self.language),
            "order",
            now=now,
            not_after=expires_at,
        )
        return PrintInfo(job_id=view.job_id, status=view.status), [stmt]

    def wake(self) -> None:
        self.service.wake()

    async def current(self, info: PrintInfo) -> PrintInfo:
        """The job's status now (a repeated order answers with it, not the stored "queued")."""
        try:
            job = await self.service.get(info.job_id)
        except PrintJobNotFound:
            return info
        return PrintInfo(job_id=job.job_id, status=job.status)

    def health(self) -> tuple[str, str]:
        return self.service.health()

    async def recent_jobs(self, limit: int) -> list[dict[str, Any]]:
        return [j.model_dump(mode="json") for j in await self.service.recent(limit)]

    def self_test_receipt(self, now: datetime) -> Receipt:
        """The self-test: the agent's address, the printer model and QR mode, a QR to the page."""
        service = self.service
        receipt = self_test_receipt(
            self.settings, service.caps, service.connection, now.astimezone(self.tz), self.language
        )
        return receipt.model_copy(update={"shop": self.shop})


@dataclass
class PrintingSlot:
    """Filled when the app starts: the channel, or why the printer could not be set up."""

    channel: PrinterChannel | None = None
    problem: str | None = None

    def health(self) -> tuple[str, str]:
        """``/health`` for a printer whose settings cannot work."""
        return "error", self.problem or ""

    async def recent_jobs(self, limit: int) -> list[dict[str, Any]]:
        del limit
        return []


PRINTING = web.AppKey("printing", PrintingSlot)


def _unusable_settings(problem: object, *, field: str | None = None) -> Conflict:
    """409 ``printer_config``: the ``[printer]`` section cannot work (said once for every route)."""
    return Conflict(
        f"the printer settings cannot work: {problem}", code="printer_config", field=field
    )


def _channel(request: web.Request) -> PrinterChannel:
    """The channel, for an action that prints: 409 when no printer can print."""
    slot = request.app[PRINTING]
    if slot.channel is None:
        raise _unusable_settings(slot.problem)
    if not slot.channel.enabled:
        raise Conflict("no printer is configured ([printer] kind = none)", code="no_printer")
    return slot.channel


async def _job(request: web.Request) -> PrintJobView:
    job_id = request.match_info["job_id"]
    row = await request.app[DB].fetchone("SELECT * FROM print_jobs WHERE job_id = ?", (job_id,))
    if row is None:
        raise NotFound(f"no print job {job_id}", field="job_id", code="unknown_job")
    return view_of(row)


async def get_job(request: web.Request) -> web.StreamResponse:
    job = await _job(request)
    channel = request.app[PRINTING].channel
    if channel is not None and channel.enabled:
        job = await channel.service.get(job.job_id)  # with what the printer cannot print
    return json_answer(job)


async def retry_job(request: web.Request) -> web.StreamResponse:
    job = await _job(request)
    channel = _channel(request)
    try:
        view = await channel.service.retry(job.job_id)
    except PrintJobNotFound as err:
        raise NotFound(str(err), field="job_id", code="unknown_job") from err
    except PrintJobStateError as err:
        raise Conflict(str(err), field="job_id", code="not_retryable") from err
    return json_answer(view, 202)


async def _order(request: web.Request) -> tuple[OrderAnswer, bool]:
    order_id = request.match_info["order_id"]
    row = await find_order(request.app[DB], order_id, till_param(request), "answer, voided_at")
    return OrderAnswer.model_validate_json(row["answer"]), row["voided_at"] is not None


async def _claim_url(request: web.Request) -> str:
    answer, voided = await _order(request)
    if answer.claim is None or voided:
        why = "was voided" if voided else "has no receipt QR (customer known, or no stamps)"
        raise NotFound(f"order {answer.order_id} {why}", field="order_id", code="no_receipt_qr")
    return answer.claim.url


async def reprint_order(request: web.Request) -> web.StreamResponse:
    answer, voided = await _order(request)
    channel = _channel(request)
    if voided:
        raise Conflict(f"order {answer.order_id} was voided", field="order_id", code="voided")
    not_after = answer.claim.expires_at if answer.claim else None
    receipt = receipt_for(answer, channel.tz, shop=channel.shop, language=channel.language)
    view = await channel.service.enqueue(receipt, "reprint", not_after)
    return json_answer(view, 202)


async def test_print(request: web.Request) -> web.StreamResponse:
    channel = _channel(request)
    receipt = channel.self_test_receipt(channel.service.clock())
    return json_answer(await channel.service.enqueue(receipt, "test"), 202)


async def _settings_caps(request: web.Request) -> tuple[PrinterSettings, Capabilities]:
    """The printer's settings and capabilities; a ``[printer]`` section that cannot work (an
    unknown profile) answers 409 ``printer_config`` like the print routes, not a 500."""
    settings = request.app[SETTINGS].printer
    channel = request.app[PRINTING].channel
    try:
        if channel is not None:
            return settings, await channel.service.load_caps()
        return settings, await asyncio.to_thread(capabilities, settings)
    except PrinterConfigError as err:
        raise _unusable_settings(err, field="printer.profile") from err


# a receipt QR carries its check's stamps: this browser may keep it, a shared cache may not
_QR_CACHE = "private, no-cache"


async def qr_png_route(request: web.Request) -> web.StreamResponse:
    url = await _claim_url(request)
    raw = request.query.get("scale", "8")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SCALE:
        raise InvalidInput(f"scale must be a whole number 1..{MAX_SCALE}", field="scale")
    ec = request.app[SETTINGS].printer.qr_error_correction
    png = await asyncio.to_thread(qr_png, url, ec=ec, scale=int(raw))  # ~10 ms of pure Python
    return cacheable(request, png, "image/png", cache_control=_QR_CACHE)


async def qr_svg_route(request: web.Request) -> web.StreamResponse:
    url = await _claim_url(request)
    ec = request.app[SETTINGS].printer.qr_error_correction
    svg = await asyncio.to_thread(qr_svg, url, ec=ec)
    return cacheable(
        request, svg.encode(), "image/svg+xml", charset="utf-8", cache_control=_QR_CACHE
    )


_MODES: dict[str, QrMode] = {"native": "native", "image": "image", "star": "star"}


async def qr_escpos_route(request: web.Request) -> web.StreamResponse:
    url = await _claim_url(request)
    settings, caps = await _settings_caps(request)
    mode = request.query.get("mode")
    if mode is not None:
        if mode not in _MODES:
            raise InvalidInput("mode must be native, image or star", field="mode")
        caps = replace(caps, qr_mode=_MODES[mode])
    data = await asyncio.to_thread(qr_escpos, url, settings, caps)
    return web.Response(body=data, content_type="application/octet-stream")


_JOB: dict[int, Body] = {200: PrintJobView, 404: ErrorAnswer}
_QUEUED: dict[int, Body] = {202: PrintJobView, 404: ErrorAnswer, 409: ErrorAnswer}
_TAGS = ("printing",)
ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("GET", "/v1/print/{job_id}", "A print job", _JOB, tags=_TAGS), get_job),
    (
        Operation(
            "POST",
            "/v1/print/{job_id}/retry",
            "Print a failed or stale job again",
            _QUEUED,
            tags=_TAGS,
        ),
        retry_job,
    ),
    (
        Operation(
            "POST",
            "/v1/orders/{order_id}/reprint",
            "Print an order's receipt again",
            {**_QUEUED, 422: ErrorAnswer},  # 422: a ?till= that is no till's name
            query=TILL_QUERY,
            tags=_TAGS,
        ),
        reprint_order,
    ),
    (
        Operation("POST", "/v1/print/test", "Print a self-test receipt", _QUEUED, tags=_TAGS),
        test_print,
    ),
    (
        Operation(
            "GET",
            "/v1/orders/{order_id}/qr.png",
            "The order's receipt QR as PNG",
            {200: "image/png", 304: None, 404: ErrorAnswer, 409: ErrorAnswer, 422: ErrorAnswer},
            query={
                **TILL_QUERY,
                "scale": {
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SCALE},
                },
            },
            tags=_TAGS,
        ),
        qr_png_route,
    ),
    (
        Operation(
            "GET",
            "/v1/orders/{order_id}/qr.svg",
            "The order's receipt QR as SVG",
            {200: "image/svg+xml", 304: None, 404: ErrorAnswer, 409: ErrorAnswer, 422: ErrorAnswer},
            query=TILL_QUERY,
            tags=_TAGS,
        ),
        qr_svg_route,
    ),
    (
        Operation(
            "GET",
            "/v1/orders/{order_id}/qr.escpos",
            "The order's receipt QR footer as ESC/POS bytes, to splice into the POS's own job",
            {200: "application/octet-stream", 404: ErrorAnswer, 409: ErrorAnswer, 422: ErrorAnswer},
            query={
                **TILL_QUERY,
                "mode": {
                    "required": False,
                    "schema": {"type": "string", "enum": ["native", "image", "star"]},
                },
            },
            tags=_TAGS,
        ),
        qr_escpos_route,
    ),
]


async def _printing_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    orders = app[ORDERS]
    metrics = app[METRICS]

    def finished(status: str, reason: str | None) -> None:
        metrics.print_jobs.labels(status, reason or "").inc()

    try:
        connection = make_connection(settings.printer)
        # Without a printer nothing needs python-escpos's profiles at start (~0.4 s, ~4 MB);
        # the QR routes that do resolve them on first use.
        caps = None
        if connection is not None:
            caps = await asyncio.to_thread(capabilities, settings.printer)
        service = PrintService(
            settings.printer,
            app[DB],
            connection,
            clock=orders.clock,
            on_finished=finished,
            caps=caps,
        )
    except PrinterConfigError as err:
        log.error("printer disabled: %s", err)
        app[PRINTING].problem = str(err)
        app[RUNTIME].printer = app[PRINTING]
        yield
        return
    await service.start()
    channel = PrinterChannel(service, settings, app[PROGRAM])
    app[PRINTING].channel = channel
    if service.enabled:
        app[RUNTIME].printer = channel
        orders.printer = channel
    try:
        yield
    finally:
        orders.printer = None
        app[PRINTING].channel = None
        await service.stop()


def install_printing(app: web.Application) -> None:
    """Add the print routes and the printer worker's lifecycle to the agent's app."""
    app[PRINTING] = PrintingSlot()
    add_routes(app, ROUTES)
    app.cleanup_ctx.append(_printing_ctx)


__all__ = ["PRINTING", "PrinterChannel", "install_printing", "receipt_for", "self_test_receipt"]
