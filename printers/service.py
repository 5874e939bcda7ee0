"""The print service: one worker per printer sends durable jobs one at a time and keeps status.

Jobs never interleave (one worker, one connection at a time), the printer is asked ``DLE EOT``
1, 2 and 4 before and after every job, and silence is never taken for "ok". The job row moves
``queued -> sending`` before the first byte goes out, so a restart mid-job can never print the
same receipt twice on its own.
"""

import asyncio
import contextlib
import io
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from config.agent import PrinterSettings
from printers import jobs
from printers.connections import Connection, FileConnection
from printers.errors import JobStoreError, PrinterUnavailable, PrintJobNotFound, PrintJobStateError
from printers.profile import Capabilities, capabilities
from printers.receipt import Receipt, build_job, receipt_warnings, render_image
from printers.status import (
    PROBLEM_STATES,
    STATUS_QUERIES,
    PrinterState,
    dle_eot,
    interpret,
    is_status_byte,
)
from printers.store import JobStore
from sync.web.waiting import wait_set

log = logging.getLogger(__name__)
STATUS_REQUEST = b"".join(dle_eot(n) for n in STATUS_QUERIES)
OnFinished = Callable[[str, str | None], None]
JOB_RETENTION_S = 30 * 86400  # finished jobs are kept a month for the status page and support
RECONNECT_PAUSES_S = (0.25, 1.0)  # before the 2nd and 3rd try of a job that sent nothing yet
_TRANSIENT = frozenset({"unreachable", "disconnected"})
# Star raster (TSP100-class) printers do not speak ESC/POS status; their jobs end "sent".
STAR_SILENT = "Star raster printers are not asked DLE EOT: look at the paper"


class _Progress:
    """Whether any byte of the job itself went out (then it is never re-sent on its own)."""

    job_bytes = False


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def query_status(conn: Connection, wait_s: float) -> PrinterState:
    """Ask ``DLE EOT`` 1, 2 and 4 in one go and read the answers for ``wait_s``.

    Bytes that cannot be a ``DLE EOT`` answer (automatic status back, a greeting) are skipped,
    so they are neither mistaken for an answer nor for "ok".
    """
    loop = asyncio.get_running_loop()
    await conn.write(STATUS_REQUEST)
    deadline = loop.time() + wait_s
    got = bytearray()
    while len(got) < len(STATUS_QUERIES):
        left = deadline - loop.time()
        if left <= 0:
            break
        chunk = await conn.read(64, left)
        got += bytes(b for b in chunk if is_status_byte(b))
    answers: dict[int, int | None] = {
        n: (got[i] if i < len(got) else None) for i, n in enumerate(STATUS_QUERIES)
    }
    state, detail = interpret(answers)
    return PrinterState(state=state, detail=detail, checked_at=_utcnow())


class PrintService:
    """Print jobs for one printer: planning (pure), the worker, retry and status."""

    def __init__(
        self,
        settings: PrinterSettings,
        db: JobStore,
        connection: Connection | None,
        *,
        clock: Callable[[], datetime] = _utcnow,
        on_finished: OnFinished | None = None,
        caps: Capabilities | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.connection = connection
        self.clock = clock
        self.on_finished = on_finished
        # capabilities() loads python-escpos's profile database (~0.4 s and ~4 MB the first
        # time): async callers resolve it in a thread and pass it in, or (no printer
        # configured) leave it to the first route that needs it (``load_caps``).
        self._caps = caps
        self.state = PrinterState(state="unknown", detail="not checked yet")
        if connection is None:
            self.state = PrinterState(state="disabled", detail="no printer configured")
        elif not connection.answers_status:
            self.state = PrinterState(state="ok", detail=f"receipts go to {connection.describe()}")
        elif not self.asks_status:
            self.state = PrinterState(state="unknown", detail=STAR_SILENT)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.busy_job: str | None = None

    @property
    def caps(self) -> Capabilities:
        """The printer's capabilities (resolved here on first use if nobody passed them)."""
        if self._caps is None:
            self._caps = capabilities(self.settings)
        return self._caps

    async def load_caps(self) -> Capabilities:
        """``caps``, resolved in a thread if not yet known (the event loop never waits on
        python-escpos's profile database)."""
        if self._caps is None:
            self._caps = await asyncio.to_thread(capabilities, self.settings)
        return self._caps

    @property
    def asks_status(self) -> bool:
        """Whether jobs are checked with ``DLE EOT`` (not files, not Star raster printers)."""
        conn = self.connection
        return conn is not None and conn.answers_status and self.caps.qr_mode != "star"

    @property
    def enabled(self) -> bool:
        """True when a printer is configured."""
        return self.connection is not None

    # -- planning (pure) -----------------------------------------------------------------

    def plan(
        self, receipt: Receipt, kind: jobs.JobKind, *, now: datetime, not_after: datetime | None
    ) -> tuple[jobs.PrintJobView, jobs.Stmt]:
        """A new queued job for ``receipt`` and its INSERT (no I/O: the caller commits it)."""
        deadline = now + timedelta(seconds=self.settings.job_ttl_s)
        if not_after is not None:
            deadline = min(deadline, not_after)
        return jobs.insert_job(uuid.uuid4().hex, kind, receipt, now=now, deadline=deadline)

    def wake(self) -> None:
        """A job was committed: let the worker look (never blocks, never fails)."""
        self._wake.set()

    # -- jobs ----------------------------------------------------------------------------

    async def enqueue(
        self, receipt: Receipt, kind: jobs.JobKind, not_after: datetime | None = None
    ) -> jobs.PrintJobView:
        """Queue a job outside an order (reprint, test print) and wake the worker."""
        view, stmt = self.plan(receipt, kind, now=self.clock(), not_after=not_after)
        await self.db.write([stmt])
        self.wake()
        return view

    async def get(self, job_id: str) -> jobs.PrintJobView:
        """The job, or ``PrintJobNotFound``."""
        row = await self.db.fetchone("SELECT * FROM print_jobs WHERE job_id = ?", (job_id,))
        if row is None:
            raise PrintJobNotFound(f"no print job {job_id}")
        return await self._with_warnings(row)

    async def _with_warnings(self, row: Any) -> jobs.PrintJobView:
        """The job's view with what this printer cannot print of its receipt."""
        view = jobs.view_of(row)
        try:
            receipt = jobs.receipt_of(row)
        except ValueError:  # an unreadable receipt: its job is failed "internal", nothing to say
            return view
        warnings = receipt_warnings(receipt, self.settings, await self.load_caps())
        return view.model_copy(update={"warnings": warnings})

    async def retry(self, job_id: str) -> jobs.PrintJobView:
        """Queue a failed or stale job again, with a fresh time-to-live."""
        job = await self.get(job_id)
        if job.status not in jobs.RETRYABLE:
            raise PrintJobStateError(
                f"print job {job_id} is {job.status}; only failed or stale jobs can be retried "
                "(reprint the order for another copy)"
            )
        now = self.clock().timestamp()
        await self.db.write([jobs.requeue(job_id, now, now + self.settings.job_ttl_s)])
        self.wake()
        return await self.get(job_id)

    async def recent(self, limit: int = 10) -> list[jobs.PrintJobView]:
        """The latest jobs, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM print_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [await self._with_warnings(r) for r in rows]

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Fail the jobs a restart cut off, purge old ones, and start the worker."""
        now = self.clock().timestamp()
        await self.db.write(
            [jobs.interrupted_on_start(now), jobs.purge_older_than(now - JOB_RETENTION_S)]
        )
        if self.connection is not None:
            self._task = asyncio.create_task(self._run(), name="printer-worker")

    async def stop(self) -> None:
        """Stop the worker (a job in flight is cut off; its row says ``sending`` -> failed)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.connection is not None:
            await self.connection.close()

    async def _run(self) -> None:
        poll = self.settings.status_poll_s
        if poll > 0:
            await self.check_status()
        while True:
            self._wake.clear()
            try:
                row = await self.db.fetchone(jobs.NEXT_QUEUED)
            except JobStoreError as err:  # the database is in trouble: wait, then look again
                log.error("print worker: %s", err)
                await asyncio.sleep(1.0)
                continue
            if row is None:
                if not await wait_set(self._wake, poll if poll > 0 else None):
                    await self.check_status()
                continue
            try:
                await self._process(row)
            except JobStoreError as err:
                log.error("print worker: %s", err)
                await asyncio.sleep(1.0)
            except Exception as err:  # a bug in one job must not stop every later receipt
                log.exception("print job %s failed unexpectedly", row["job_id"])
                await self._bury(row["job_id"], err)

    async def _bury(self, job_id: str, err: Exception) -> None:
        """Fail a job that broke the worker, so it is not picked up again and again."""
        stmt = jobs.finish(job_id, "failed", self.clock().timestamp(), "internal", repr(err))
        try:
            await self.db.write([stmt])
        except JobStoreError:
            log.exception("cannot mark print job %s failed", job_id)
            await asyncio.sleep(1.0)

    async def check_status(self) -> PrinterState:
        """Ask the printer how it is (idle poll, ``/health``); updates ``state``."""
        conn = self.connection
        if conn is None or not self.asks_status:
            return self.state
        try:
            await conn.open("status")
            try:
                self.state = await query_status(conn, self.settings.status_timeout_s)
            finally:
                await conn.close()
        except PrinterUnavailable as err:
            self._unreachable(err)
        return self.state

    def _unreachable(self, err: PrinterUnavailable) -> None:
        state = "unknown" if err.reason == "no_answer" else "offline"
        self.state = PrinterState(state=state, detail=str(err), checked_at=_utcnow())

    # -- one job -------------------------------------------------------------------------

    async def _process(self, row: Any) -> None:
        job_id: str = row["job_id"]
        now = self.clock().timestamp()
        if now > row["deadline"]:
            ttl = self.settings.job_ttl_s
            await self._finish(
                job_id,
                "stale",
                "ttl",
                f"not printed within {ttl / 60:g} min; dropped so that no receipt prints "
                "long after its check (retry to print it anyway)",
            )
            return
        self.busy_job = job_id
        try:
            receipt = jobs.receipt_of(row)
            try:
                data = await asyncio.to_thread(build_job, receipt, self.settings, self.caps)
            except ValueError as err:  # e.g. a URL too long for a QR
                await self._finish(job_id, "failed", "build_error", f"cannot build: {err}")
                return
            mark = asyncio.create_task(self.db.write([jobs.start_sending(job_id, now)]))
            try:
                status, reason, detail = await self._send(job_id, receipt, data, mark)
            finally:
                await mark  # the row must say "sending" before any later write for this job
            await self._finish(job_id, status, reason, detail)
        finally:
            self.busy_job = None

    async def _send(
        self, job_id: str, receipt: Receipt, data: bytes, mark: "asyncio.Task[Any]"
    ) -> tuple[jobs.JobStatus, str | None, str | None]:
        """Send one job; a connection that fails before any job byte went out is tried again
        (Wi-Fi printers drop, another till may hold the port for a moment)."""
        conn = self.connection
        assert conn is not None
        for pause in (*RECONNECT_PAUSES_S, None):
            wrote = _Progress()
            try:
                return await self._attempt(conn, job_id, receipt, data, mark, wrote)
            except PrinterUnavailable as err:
                if wrote.job_bytes or err.reason not in _TRANSIENT or pause is None:
                    self._unreachable(err)
                    return "failed", err.reason, str(err)
                log.info("print job %s: %s; trying again in %g s", job_id, err, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    async def _attempt(
        self,
        conn: Connection,
        job_id: str,
        receipt: Receipt,
        data: bytes,
        mark: "asyncio.Task[Any]",
        wrote: "_Progress",
    ) -> tuple[jobs.JobStatus, str | None, str | None]:
        s = self.settings
        await conn.open(job_id)
        try:
            if self.asks_status:
                before = await query_status(conn, s.status_timeout_s)
                self.state = before
                if before.state in PROBLEM_STATES:
                    return "failed", before.state, before.detail
                if before.state == "unknown" and s.require_status:
                    return "failed", "no_answer", before.detail
            await mark
            wrote.job_bytes = True
            await conn.write(data)
            if isinstance(conn, FileConnection):
                png = await asyncio.to_thread(self._preview, receipt)
                await conn.save_preview(png)
                return "confirmed", None, None
            if not self.asks_status:
                return "sent", "no_status", STAR_SILENT
            sent = asyncio.create_task(
                self.db.write([jobs.finish(job_id, "sent", self.clock().timestamp())])
            )
            try:
                timeout = s.status_timeout_s + conn.transfer_s(len(data))
                after = await query_status(conn, timeout)
            finally:
                await sent
            self.state = after
            if after.state in PROBLEM_STATES:
                return "failed", after.state, after.detail
            if after.state == "unknown":
                return "sent", "no_answer", "sent, but the printer did not confirm it"
            return "confirmed", None, None
        finally:
            await conn.close()

    def _preview(self, receipt: Receipt) -> bytes:
        buf = io.BytesIO()
        render_image(receipt, self.settings, self.caps).save(buf, format="PNG")
        return buf.getvalue()

    async def _finish(
        self, job_id: str, status: jobs.JobStatus, reason: str | None, detail: str | None
    ) -> None:
        await self.db.write([jobs.finish(job_id, status, self.clock().timestamp(), reason, detail)])
        log.info("print job %s: %s%s", job_id, status, f" ({reason})" if reason else "")
        if self.on_finished is not None:
            self.on_finished(status, reason)

    def health(self) -> tuple[str, str]:
        """``(state, detail)`` for ``/health``."""
        return self.state.state, self.state.detail
