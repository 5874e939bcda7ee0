"""Typed application state of the agent (``web.AppKey``s) and the small status records."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from agent.db import AgentDb
from agent.http.metrics import AgentMetrics
from agent.orders.program_source import ProgramSource
from agent.orders.service import OrderService
from agent.pages.pairing import DeviceSession, PairingBook
from agent.rewards.results import ResultStore
from config import AgentSettings
from sync.edge.outbox import Outbox
from sync.web.openapi import Operation


@dataclass
class CloudStatus:
    """What the agent last learnt about its link to the cloud (the uploader keeps it)."""

    reachable: bool | None = None
    last_sync_at: datetime | None = None
    last_error: str | None = None


class ScannerStatus(Protocol):
    """A scanner source as ``/health`` shows it."""

    def health(self) -> dict[str, Any]: ...


class PrinterStatus(Protocol):
    """The printer as ``/health`` and the status page show it."""

    def health(self) -> tuple[str, str]:
        """``(state, detail)``, e.g. ``("ok", "")`` or ``("paper_out", "paper end sensor")``."""
        ...

    async def recent_jobs(self, limit: int) -> list[dict[str, Any]]:
        """The latest print jobs, newest first: ``job_id``, ``order_id``, ``status``,
        ``reason``, ``created_at``."""
        ...


class CustomerLookup(Protocol):
    """Online customer look-up (the cloud); None answer means the cloud is unreachable."""

    async def lookup(self, q: str) -> list[dict[str, Any]] | None: ...


@dataclass
class Runtime:
    """Things started with the app and read by handlers."""

    started_at: float
    database: str = ""  # the absolute path of the database file opened (for /health)
    scanners: list[ScannerStatus] = field(default_factory=list)
    customer_lookup: CustomerLookup | None = None
    printer: PrinterStatus | None = None
    operations: list[Operation] = field(default_factory=list)  # what /openapi.json documents
    openapi_json: bytes | None = None  # that document, made on its first request
    on_event: list[Callable[[], None]] = field(default_factory=list)


SETTINGS = web.AppKey("settings", AgentSettings)
METRICS = web.AppKey("metrics", AgentMetrics)
CLOUD = web.AppKey("cloud_status", CloudStatus)
RUNTIME = web.AppKey("runtime", Runtime)
DB = web.AppKey("db", AgentDb)
OUTBOX = web.AppKey("outbox", Outbox)
ORDERS = web.AppKey("orders", OrderService)
PROGRAM = web.AppKey("program", ProgramSource)
PAIRING = web.AppKey("pairing", PairingBook)
# The paired phone or tablet a request comes from (set by the pages' device middleware), or why
# its cookie was not taken (``not_paired``, ``device_revoked``, ``wrong_device_role``).
DEVICE = web.RequestKey("device", DeviceSession)
DEVICE_PROBLEM = web.RequestKey("device_problem", str)
RESULTS = web.AppKey("results", ResultStore)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
