"""The durable mail outbox (``mail_outbox``): a message is a row before any SMTP server is asked.

Queueing is one insert in the caller's transaction, so a claim or a sign-in request never waits
on a mail server; the sender (``sync/cloud/mail/sender.py``) takes due rows, leasing them (their
next try moves ``LEASE_US`` ahead while it works), so cloud processes sharing a PostgreSQL
database do not send one message twice; a failure moves the next try out with backoff, a
success stamps ``sent_us``. Taking rows runs under the write lock of business 0 (no business
has that id): the takers of every process queue behind each other for that short moment.
"""

import json
from dataclasses import dataclass

from sync.cloud.store.db import Db, Tx

LEASE_US = 120 * 1_000_000
MAX_ATTEMPTS = 10
_ERROR_CHARS = 300


@dataclass(frozen=True)
class Outgoing:
    """A message waiting to be sent."""

    id: int
    business_id: int
    to_addr: str
    subject: str
    body: str
    headers: dict[str, str]
    attempts: int


async def enqueue(
    tx: Tx, business_id: int, customer_id: int | None, kind: str, to_addr: str,
    subject: str, body: str, headers: dict[str, str], now_us: int,
) -> int:  # fmt: skip
    """Queue one message (due at once); its id."""
    new_id = await tx.fetchval(
        "INSERT INTO mail_outbox (business_id, customer_id, kind, to_addr, subject, body, "
        "headers, attempts, next_us, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) "
        "RETURNING id",
        business_id, customer_id, kind, to_addr, subject, body,
        json.dumps(headers, sort_keys=True), now_us, now_us,
    )  # fmt: skip
    return int(new_id)


async def take_due(db: Db, now_us: int, limit: int) -> list[Outgoing]:
    """Up to ``limit`` due messages, leased to the caller for ``LEASE_US``."""
    async with db.write(0) as tx:
        rows = await tx.fetch(
            "SELECT id, business_id, to_addr, subject, body, headers, attempts FROM mail_outbox "
            "WHERE sent_us IS NULL AND next_us <= ? AND attempts < ? ORDER BY next_us, id "
            "LIMIT ?",
            now_us, MAX_ATTEMPTS, limit,
        )  # fmt: skip
        if rows:
            await tx.execute(
                f"UPDATE mail_outbox SET next_us = ? WHERE id {tx.in_int}",  # noqa: S608
                now_us + LEASE_US, tx.array([int(r["id"]) for r in rows]),
            )  # fmt: skip
    return [
        Outgoing(
            int(r["id"]),
            int(r["business_id"]),
            r["to_addr"],
            r["subject"],
            r["body"],
            json.loads(r["headers"]),
            int(r["attempts"]),
        )
        for r in rows
    ]


async def sent(db: Db, message_id: int, now_us: int) -> None:
    """The server took the message."""
    async with db.write(0) as tx:
        await tx.execute("UPDATE mail_outbox SET sent_us = ? WHERE id = ?", now_us, message_id)


async def failed(db: Db, message_id: int, error: str, next_us: int) -> None:
    """The server refused or did not answer: try again at ``next_us`` (a row past
    ``MAX_ATTEMPTS`` stays, unsent, for the owner to see; it is never taken again)."""
    async with db.write(0) as tx:
        await tx.execute(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_us = ?, last_error = ? "
            "WHERE id = ?",
            next_us, error[:_ERROR_CHARS], message_id,
        )  # fmt: skip


async def next_due_us(db: Db) -> int | None:
    """When the next unsent message is due, if any is waiting."""
    async with db.read() as tx:
        found = await tx.fetchval(
            "SELECT MIN(next_us) FROM mail_outbox WHERE sent_us IS NULL AND attempts < ?",
            MAX_ATTEMPTS,
        )
    return None if found is None else int(found)
