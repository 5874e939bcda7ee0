"""The agent's link to the cloud store: uploader, state pull and housekeeping, started with the app.

``install_sync`` adds one ``cleanup_ctx`` (after the database's, so it stops before the database
closes). Housekeeping always runs; the uploader, the state pull and the online customer look-up
run when ``cloud.url`` and ``cloud.device_key`` are both set. The last program the cloud sent is
applied at start-up from the database, so a restart while offline keeps it (and the business's
language with it).
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import Counter

from agent.db import retention
from agent.http.metrics import AgentMetrics
from agent.http.state import (
    CLOUD,
    DB,
    METRICS,
    OUTBOX,
    PROGRAM,
    RESULTS,
    RUNTIME,
    SETTINGS,
    CloudStatus,
)
from sync.edge.backoff import Backoff
from sync.edge.client import CloudAuthError, CloudClient, CloudUnreachable
from sync.edge.errors import SyncError
from sync.edge.housekeeping import run_housekeeping
from sync.edge.lookup import CloudLookup
from sync.edge.state_pull import StatePuller, saved_language, saved_program
from sync.edge.uploader import LINK_ERRORS, Outcome, Uploader

log = logging.getLogger(__name__)
REASON_LABEL_MAX = 80


class AgentSyncObserver:
    """Keeps ``CloudStatus`` and the sync metrics up to date from the uploader's reports."""

    def __init__(self, status: CloudStatus, metrics: AgentMetrics) -> None:
        self.status = status
        self.metrics = metrics
        self.dead_reasons = Counter(
            "stampedge_sync_dead_events",
            "Events the cloud refused (dead-lettered), by reason",
            ["reason"],
            registry=metrics.registry,
        )

    def batch_done(self, outcome: Outcome) -> None:
        """Count the batch and its events by status."""
        m = self.metrics
        m.sync_batches.labels("answered").inc()
        m.sync_events.labels("applied").inc(outcome.applied)
        m.sync_events.labels("duplicate").inc(outcome.duplicate)
        m.sync_events.labels("rejected").inc(len(outcome.dead))
        for _, reason in outcome.dead:
            self.dead_reasons.labels(reason[:REASON_LABEL_MAX]).inc()

    def link_ok(self) -> None:
        """The cloud answered: reachable, synced now, no error."""
        self.status.reachable = True
        self.status.last_sync_at = datetime.now(UTC)
        self.status.last_error = None
        self.metrics.cloud_reachable.set(1)

    def link_failed(self, err: CloudUnreachable | CloudAuthError) -> None:
        """An upload failed: count it and show it."""
        self.metrics.sync_batches.labels("failed").inc()
        self.show_failure(err)

    def show_failure(self, err: CloudUnreachable | CloudAuthError) -> None:
        """Show the failure; a refused key means the cloud is reachable but will not listen."""
        auth = isinstance(err, CloudAuthError)
        self.status.reachable = auth
        self.status.last_error = str(err)
        self.metrics.cloud_reachable.set(1 if auth else 0)
        self.metrics.sync_errors.labels(err.kind).inc()
        if auth:
            log.error("the cloud refused this device's key: %s", err)


@dataclass
class SyncParts:
    """The running sync parts (None when no cloud link is configured)."""

    uploader: Uploader | None = None
    puller: StatePuller | None = None
    client: CloudClient | None = None
    tasks: list["asyncio.Task[None]"] = field(default_factory=list)


SYNC = web.AppKey("sync", SyncParts)


async def _sync_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = app[OUTBOX]
    link = settings.cloud
    parts = SyncParts()
    app[SYNC] = parts
    saved = await saved_program(db)
    if saved is not None:
        app[PROGRAM].update(saved)
        log.info("stamping by the cloud's last program (v%d) until the next pull", saved.version)
    app[PROGRAM].cloud_language = await saved_language(db)
    parts.tasks.append(
        asyncio.create_task(
            run_housekeeping(
                db,
                settings.agent.acked_retention_days,
                also=lambda: retention.prune(app[DB], settings.agent.retention_days, time.time()),
            ),
            name="housekeeping",
        )
    )
    key = link.device_key.get_secret_value()
    if link.url and key:
        client = CloudClient(link.url, key, timeout_s=link.timeout_s)
        observer = AgentSyncObserver(app[CLOUD], app[METRICS])
        parts.client = client
        parts.uploader = Uploader(
            db,
            client,
            batch_size=link.batch_size,
            interval_s=link.sync_interval_s,
            backoff=Backoff(cap=link.max_backoff_s),
            observer=observer,
            results=app[RESULTS],
        )
        uploader = parts.uploader

        def pull_ok() -> None:
            if uploader.backoff.failures == 0:  # the uploader's own trouble shows first
                observer.link_ok()

        def pull_failed(err: SyncError) -> None:
            if uploader.backoff.failures == 0 and isinstance(err, LINK_ERRORS):
                observer.show_failure(err)

        parts.puller = StatePuller(
            db,
            client,
            app[PROGRAM].update,
            interval_s=max(link.sync_interval_s, 5.0),
            backoff=Backoff(cap=link.max_backoff_s),
            on_ok=pull_ok,
            on_fail=pull_failed,
            apply_language=app[PROGRAM].take_language,
        )
        app[RUNTIME].customer_lookup = CloudLookup(client, timeout_s=min(2.0, link.timeout_s))
        parts.tasks.append(asyncio.create_task(parts.uploader.run(), name="uploader"))
        parts.tasks.append(
            asyncio.create_task(parts.puller.run(parts.uploader.uploaded), name="state-pull")
        )
        log.info("syncing to %s as device %d", link.url, link.device_id)
    else:
        log.warning("no cloud.url or cloud.device_key: events stay in the outbox")
    for task in parts.tasks:
        task.add_done_callback(_report_crash)
    try:
        yield
    finally:
        for task in parts.tasks:
            task.cancel()
        await asyncio.gather(*parts.tasks, return_exceptions=True)
        app[RUNTIME].customer_lookup = None
        if parts.client is not None:
            await parts.client.close()


def _report_crash(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("sync task %s stopped", task.get_name(), exc_info=task.exception())


def install_sync(app: web.Application) -> None:
    """Add the uploader's, state pull's and housekeeping's lifecycle to the agent's app."""
    app.cleanup_ctx.append(_sync_ctx)
