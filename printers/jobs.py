"""Durable print jobs (pure): the table, the statements that move a job along, and its view.

``queued -> sending -> sent -> confirmed | failed(reason) | stale``. A job is written in the same
transaction as its order, so a recorded check always has its receipt job; the worker then moves
it along with one small write per step. A job still ``queued`` after its deadline (time-to-live,
default one hour) becomes ``stale`` instead of printing a surprise receipt once the paper is back.
"""

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from printers.receipt import Receipt

JobStatus = Literal["queued", "sending", "sent", "confirmed", "failed", "stale"]
JobKind = Literal["order", "reprint", "test"]

RETRYABLE: frozenset[str] = frozenset({"failed", "stale"})

Stmt = tuple[str, tuple[Any, ...]]


class PrintJobView(BaseModel):
    """A print job as the API shows it (``GET /v1/print/{job_id}``)."""

    job_id: str
    order_id: str | None
    kind: JobKind
    status: JobStatus
    reason: str | None = None  # a stable word: paper_out, cover_open, offline, no_answer, ...
    detail: str | None = None  # the reason in words, for the person at the till
    attempts: int
    created_at: datetime
    updated_at: datetime
    deadline: datetime  # not printed by then: stale
    printed_at: datetime | None = None
    # what the printer cannot print as written (characters its code page lacks, replaced)
    warnings: list[str] = []


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def view_of(row: Any) -> PrintJobView:
    """A ``print_jobs`` row as its view."""
    return PrintJobView(
        job_id=row["job_id"],
        order_id=row["order_id"],
        kind=row["kind"],
        status=row["status"],
        reason=row["reason"],
        detail=row["detail"],
        attempts=row["attempts"],
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        updated_at=datetime.fromtimestamp(row["updated_at"], UTC),
        deadline=datetime.fromtimestamp(row["deadline"], UTC),
        printed_at=_ts(row["printed_at"]),
    )


def receipt_of(row: Any) -> Receipt:
    """The receipt stored with a job."""
    return Receipt.model_validate(json.loads(row["receipt"]))


def insert_job(
    job_id: str,
    kind: JobKind,
    receipt: Receipt,
    *,
    now: datetime,
    deadline: datetime,
) -> tuple[PrintJobView, Stmt]:
    """A new queued job and the INSERT that makes it durable."""
    order_id = receipt.order_id if kind != "test" else None
    view = PrintJobView(
        job_id=job_id,
        order_id=order_id,
        kind=kind,
        status="queued",
        attempts=0,
        created_at=now,
        updated_at=now,
        deadline=deadline,
    )
    stmt: Stmt = (
        "INSERT INTO print_jobs (job_id, order_id, kind, status, receipt, attempts, created_at, "
        "updated_at, deadline) VALUES (?, ?, ?, 'queued', ?, 0, ?, ?, ?)",
        (
            job_id,
            order_id,
            kind,
            receipt.model_dump_json(),
            now.timestamp(),
            now.timestamp(),
            deadline.timestamp(),
        ),
    )
    return view, stmt


def start_sending(job_id: str, now: float) -> Stmt:
    """``queued -> sending`` (one more attempt)."""
    return (
        "UPDATE print_jobs SET status = 'sending', attempts = attempts + 1, reason = NULL, "
        "detail = NULL, updated_at = ? WHERE job_id = ? AND status = 'queued'",
        (now, job_id),
    )


def finish(
    job_id: str, status: JobStatus, now: float, reason: str | None = None, detail: str | None = None
) -> Stmt:
    """Move a job to ``status`` with its reason (``printed_at`` set once bytes were sent)."""
    printed = now if status in ("sent", "confirmed") else None
    return (
        "UPDATE print_jobs SET status = ?, reason = ?, detail = ?, updated_at = ?, "
        "printed_at = COALESCE(?, printed_at) WHERE job_id = ?",
        (status, reason, detail, now, printed, job_id),
    )


def requeue(job_id: str, now: float, deadline: float) -> Stmt:
    """A person asked for a retry: queued again with a fresh deadline."""
    return (
        "UPDATE print_jobs SET status = 'queued', reason = NULL, detail = NULL, updated_at = ?, "
        "deadline = ? WHERE job_id = ? AND status IN ('failed', 'stale')",
        (now, deadline, job_id),
    )


def interrupted_on_start(now: float) -> Stmt:
    """Jobs caught mid-send by a restart: maybe half printed, so failed (a person may retry)."""
    return (
        "UPDATE print_jobs SET status = 'failed', reason = 'interrupted', "
        "detail = 'the agent stopped while sending this job; check the paper and retry', "
        "updated_at = ? WHERE status = 'sending'",
        (now,),
    )


def purge_older_than(cutoff: float) -> Stmt:
    """Forget finished jobs created before ``cutoff`` (the table stays small on a busy till)."""
    return (
        "DELETE FROM print_jobs WHERE created_at < ? AND status NOT IN ('queued', 'sending')",
        (cutoff,),
    )


NEXT_QUEUED = "SELECT * FROM print_jobs WHERE status = 'queued' ORDER BY created_at, rowid LIMIT 1"
