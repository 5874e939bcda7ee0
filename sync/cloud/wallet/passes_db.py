"""The wallet's tables (schema v6) over the store's ``Db``: passes, device registrations, the
durable push queue and the change cursor. Each write runs in ``Db.write(business_id)``, so it
never interleaves with the business's ledger writes."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sync.cloud.rewards import normalize_reward_code
from sync.cloud.store.db import Db, Row, Tx

_PASS_FIELDS = ["serial", "business_id", "customer_id", "nonce"]
_PASS_FIELDS += ["token_hash", "content_hash", "updated_us", "google"]
PASS_COLUMNS = ", ".join(_PASS_FIELDS)


@dataclass(frozen=True, slots=True)
class PassRow:
    """A card's pass as stored."""

    serial: str
    business_id: int
    customer_id: int
    nonce: str
    token_hash: str
    content_hash: str
    updated_us: int
    google: bool


@dataclass(frozen=True, slots=True)
class PushRow:
    """A pass waiting to be pushed; ``version`` changes each time a change is queued again."""

    serial: str
    business_id: int
    attempts: int
    version: int


def _pass(row: Row) -> PassRow:
    return PassRow(
        serial=str(row["serial"]),
        business_id=int(row["business_id"]),
        customer_id=int(row["customer_id"]),
        nonce=str(row["nonce"]),
        token_hash=str(row["token_hash"]),
        content_hash=str(row["content_hash"]),
        updated_us=int(row["updated_us"]),
        google=bool(row["google"]),
    )


def new_version() -> int:
    """A queue row's version: random, so two processes never pick the same."""
    return secrets.randbits(62)


async def get_pass(db: Db, serial: str) -> PassRow | None:
    """The pass with this serial number, if one was ever issued."""
    async with db.read() as tx:
        row = await tx.fetchrow(
            f"SELECT {PASS_COLUMNS} FROM wallet_passes WHERE serial = ?",  # noqa: S608
            serial,
        )
    return _pass(row) if row is not None else None


async def pass_rows(tx: Tx, serials: Sequence[str]) -> list[PassRow]:
    """The stored passes among ``serials`` (inside an open transaction)."""
    if not serials:
        return []
    rows = await tx.fetch(
        f"SELECT {PASS_COLUMNS} FROM wallet_passes WHERE serial {tx.in_text}",  # noqa: S608
        tx.array(list(serials)),
    )
    return [_pass(r) for r in rows]


async def set_contents(db: Db, business_id: int, changed: Sequence[tuple[str, int, str]]) -> None:
    """Several passes of a business now say something else: ``(content_hash, updated_us,
    serial)`` each."""
    async with db.write(business_id) as tx:
        await tx.executemany(
            "UPDATE wallet_passes SET content_hash = ?, updated_us = ? WHERE serial = ?",
            list(changed),
        )


async def pass_of_reward(db: Db, reward_code: str) -> PassRow | None:
    """The pass of the card a reward belongs to, if that card has one."""
    try:
        code = normalize_reward_code(reward_code)
    except ValueError:
        return None
    async with db.read() as tx:
        row = await tx.fetchrow(
            f"SELECT {', '.join('p.' + c for c in _PASS_FIELDS)} FROM rewards r "  # noqa: S608
            "JOIN wallet_passes p ON p.customer_id = r.customer_id WHERE r.code = ?",
            code,
        )
    return _pass(row) if row is not None else None


async def business_of_branch(db: Db, branch_id: int) -> int | None:
    """The business a branch belongs to."""
    async with db.read() as tx:
        found = await tx.fetchval("SELECT business_id FROM branches WHERE id = ?", branch_id)
    return int(found) if found is not None else None


async def ensure_pass(db: Db, candidate: PassRow, now_us: int, *, google: bool = False) -> PassRow:
    """The card's pass: ``candidate`` stored if it has none yet, else the one it has (marked
    as saved to Google Wallet too when ``google``)."""
    async with db.write(candidate.business_id) as tx:
        await tx.execute(
            f"INSERT INTO wallet_passes ({PASS_COLUMNS}, created_us) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING",
            candidate.serial, candidate.business_id, candidate.customer_id, candidate.nonce,
            candidate.token_hash, candidate.content_hash, candidate.updated_us,
            int(google), now_us,
        )  # fmt: skip
        if google:
            await tx.execute(
                "UPDATE wallet_passes SET google = 1 WHERE serial = ? AND google = 0",
                candidate.serial,
            )
        # the business's first pass: its changes are looked for from now on (what was before
        # is in the passes as issued; a device that registers fetches the pass as it is then)
        await tx.execute(
            "INSERT INTO wallet_cursors (business_id, card_seq) SELECT business_id, card_seq "
            "FROM counters WHERE business_id = ? ON CONFLICT (business_id) DO NOTHING",
            candidate.business_id,
        )
        row = await tx.fetchrow(
            f"SELECT {PASS_COLUMNS} FROM wallet_passes WHERE serial = ?",  # noqa: S608
            candidate.serial,
        )
    assert row is not None
    return _pass(row)


async def set_content(
    db: Db, business_id: int, serial: str, content_hash: str, updated_us: int
) -> None:
    """The pass now says something else, since ``updated_us``."""
    async with db.write(business_id) as tx:
        await tx.execute(
            "UPDATE wallet_passes SET content_hash = ?, updated_us = ? WHERE serial = ?",
            content_hash, updated_us, serial,
        )  # fmt: skip


async def register(
    db: Db, business_id: int, device: str, pass_type: str, serial: str, token: str, now_us: int
) -> bool:
    """Register a device for a pass's pushes; ``True`` if new (the push token is refreshed
    either way)."""
    async with db.write(business_id) as tx:
        known = await tx.fetchval(
            "SELECT push_token FROM wallet_registrations "
            "WHERE device_id = ? AND pass_type_id = ? AND serial = ?",
            device, pass_type, serial,
        )  # fmt: skip
        if known is None:
            await tx.execute(
                "INSERT INTO wallet_registrations (device_id, pass_type_id, serial, push_token, "
                "created_us) VALUES (?, ?, ?, ?, ?)",
                device, pass_type, serial, token, now_us,
            )  # fmt: skip
            return True
        if known != token:
            await tx.execute(
                "UPDATE wallet_registrations SET push_token = ? "
                "WHERE device_id = ? AND pass_type_id = ? AND serial = ?",
                token, device, pass_type, serial,
            )  # fmt: skip
        return False


async def unregister(db: Db, business_id: int, device: str, pass_type: str, serial: str) -> None:
    """The device removed the pass: no more pushes to it for this pass."""
    async with db.write(business_id) as tx:
        await tx.execute(
            "DELETE FROM wallet_registrations "
            "WHERE device_id = ? AND pass_type_id = ? AND serial = ?",
            device, pass_type, serial,
        )  # fmt: skip


async def serials_since(
    db: Db, device: str, pass_type: str, since_us: int
) -> list[tuple[str, int]]:
    """The passes registered on the device that changed after ``since_us``, with when."""
    async with db.read() as tx:
        rows = await tx.fetch(
            "SELECT p.serial, p.updated_us FROM wallet_registrations r "
            "JOIN wallet_passes p ON p.serial = r.serial "
            "WHERE r.device_id = ? AND r.pass_type_id = ? AND p.updated_us > ? "
            "ORDER BY p.serial",
            device, pass_type, since_us,
        )  # fmt: skip
    return [(str(r["serial"]), int(r["updated_us"])) for r in rows]


async def push_tokens(db: Db, serials: Sequence[str]) -> dict[str, list[str]]:
    """The push tokens of the devices registered for each pass."""
    if not serials:
        return {}
    async with db.read() as tx:
        rows = await tx.fetch(
            f"SELECT serial, push_token FROM wallet_registrations WHERE serial {tx.in_text}",  # noqa: S608
            tx.array(list(serials)),
        )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(str(r["serial"]), []).append(str(r["push_token"]))
    return out


async def drop_token(db: Db, business_id: int, token: str) -> None:
    """APNs calls the token unregistered: forget every registration that uses it."""
    async with db.write(business_id) as tx:
        await tx.execute("DELETE FROM wallet_registrations WHERE push_token = ?", token)


# the queue ---------------------------------------------------------------------------------

# Queued again: a new version (the worker that holds the old one leaves the row), and due no
# later than the new change asks (a row leased by a worker, or waiting out a backoff, is taken
# up again for the new change).
_QUEUE = (
    "INSERT INTO wallet_pushes (serial, business_id, due_us, attempts, version) "
    "VALUES (?, ?, ?, 0, ?) ON CONFLICT (serial) DO UPDATE SET version = excluded.version, "
    "due_us = CASE WHEN excluded.due_us < wallet_pushes.due_us THEN excluded.due_us "
    "ELSE wallet_pushes.due_us END"
)
# wallet_cursors' row for no business (ids start at 1): up to when, on the business clock,
# rewards that start or stop being usable by the clock alone were looked for
SWEEP_ROW = 0


async def queue_serials(db: Db, business_id: int, serials: Sequence[str], due_us: int) -> None:
    """Queue a push of these passes (one already waiting keeps its due time: coalesced)."""
    async with db.write(business_id) as tx:
        await tx.executemany(_QUEUE, [(s, business_id, due_us, new_version()) for s in serials])


async def queue_business(db: Db, business_id: int, due_us: int) -> int:
    """Queue a push of every pass of the business (its program changed); how many."""
    async with db.write(business_id) as tx:
        rows = await tx.fetch("SELECT serial FROM wallet_passes WHERE business_id = ?", business_id)
        await tx.executemany(
            _QUEUE, [(str(r["serial"]), business_id, due_us, new_version()) for r in rows]
        )
    return len(rows)


async def queue_changed_cards(db: Db, due_us: int) -> int:
    """Queue a push of each pass whose card changed (its sequence number rose) since the last
    look, per business; how many were queued."""
    async with db.read() as tx:
        businesses = [
            (int(r["business_id"]), int(r["card_seq"]), r["seen"])
            for r in await tx.fetch(
                "SELECT c.business_id, c.card_seq, w.card_seq AS seen FROM counters c "
                "JOIN (SELECT DISTINCT business_id FROM wallet_passes) p "
                "ON p.business_id = c.business_id "
                "LEFT JOIN wallet_cursors w ON w.business_id = c.business_id"
            )
        ]
    queued = 0
    for business_id, seq, seen in businesses:
        if seen is not None and int(seen) >= seq:
            continue
        async with db.write(business_id) as tx:
            seen_now = await tx.fetchval(
                "SELECT card_seq FROM wallet_cursors WHERE business_id = ?", business_id
            )
            top = await tx.fetchval(
                "SELECT card_seq FROM counters WHERE business_id = ?", business_id
            )
            since = int(seen_now) if seen_now is not None else int(top)
            rows = await tx.fetch(
                "SELECT p.serial FROM customers c JOIN wallet_passes p ON p.customer_id = c.id "
                "WHERE c.business_id = ? AND c.updated_seq > ? AND c.updated_seq <= ?",
                business_id, since, int(top),
            )  # fmt: skip
            await tx.executemany(
                _QUEUE, [(str(r["serial"]), business_id, due_us, new_version()) for r in rows]
            )
            await tx.execute(
                "INSERT INTO wallet_cursors (business_id, card_seq) VALUES (?, ?) "
                "ON CONFLICT (business_id) DO UPDATE SET card_seq = excluded.card_seq",
                business_id, int(top),
            )  # fmt: skip
            queued += len(rows)
    return queued


async def due_pushes(db: Db, now_us: int, limit: int, lease_us: int) -> list[PushRow]:
    """Queued passes whose time has come, oldest first, leased to this worker until
    ``now_us + lease_us`` (another cloud process on the same database skips them; if this one
    dies, they come back then)."""
    async with db.read() as tx:  # most looks find nothing: no write transaction for them
        if (
            await tx.fetchval("SELECT 1 FROM wallet_pushes WHERE due_us <= ? LIMIT 1", now_us)
            is None
        ):
            return []
    async with db.write(SWEEP_ROW) as tx:
        rows = await tx.fetch(
            "SELECT serial, business_id, attempts, version FROM wallet_pushes "
            "WHERE due_us <= ? ORDER BY due_us LIMIT ?",
            now_us, limit,
        )  # fmt: skip
        await tx.executemany(
            "UPDATE wallet_pushes SET due_us = ? WHERE serial = ? AND version = ?",
            [(now_us + lease_us, r["serial"], r["version"]) for r in rows],
        )
    return [
        PushRow(str(r["serial"]), int(r["business_id"]), int(r["attempts"]), int(r["version"]))
        for r in rows
    ]


async def queue_clock_changes(db: Db, clock_us: int, every_us: int, due_us: int) -> int:
    """Queue the passes whose rewards became usable or expired by the clock alone (nothing is
    written then) since the last look, at most every ``every_us`` of the business clock; how
    many."""
    async with db.read() as tx:
        last = await tx.fetchval(
            "SELECT card_seq FROM wallet_cursors WHERE business_id = ?", SWEEP_ROW
        )
    if last is not None and clock_us - int(last) < every_us:
        return 0
    rows = []
    if last is not None:
        async with db.read() as tx:
            rows = await tx.fetch(
                "SELECT DISTINCT p.serial, p.business_id FROM wallet_passes p "
                "JOIN rewards r ON r.customer_id = p.customer_id WHERE r.state = 'issued' AND "
                "((r.expires_us > ? AND r.expires_us <= ?) "
                "OR (r.valid_from_us > ? AND r.valid_from_us <= ?))",
                int(last), clock_us, int(last), clock_us,
            )  # fmt: skip
    by_business: dict[int, list[str]] = {}
    for r in rows:
        by_business.setdefault(int(r["business_id"]), []).append(str(r["serial"]))
    for business_id, serials in by_business.items():
        await queue_serials(db, business_id, serials, due_us)
    async with db.write(SWEEP_ROW) as tx:
        await tx.execute(
            "INSERT INTO wallet_cursors (business_id, card_seq) VALUES (?, ?) "
            "ON CONFLICT (business_id) DO UPDATE SET card_seq = excluded.card_seq",
            SWEEP_ROW, clock_us,
        )  # fmt: skip
    return len(rows)


async def next_due_us(db: Db) -> int | None:
    """When the next queued push is due, if any is queued."""
    async with db.read() as tx:
        value = await tx.fetchval("SELECT MIN(due_us) FROM wallet_pushes")
    return int(value) if value is not None else None


async def pushed(db: Db, business_id: int, done: Sequence[tuple[str, int]]) -> None:
    """These ``(serial, version)`` were pushed: off the queue, unless queued again since."""
    async with db.write(business_id) as tx:
        await tx.executemany(
            "DELETE FROM wallet_pushes WHERE serial = ? AND version = ?", list(done)
        )


async def retry_later(db: Db, business_id: int, row: PushRow, due_us: int) -> None:
    """The push failed: try again at ``due_us`` (a row queued again since keeps its version)."""
    async with db.write(business_id) as tx:
        await tx.execute(
            "UPDATE wallet_pushes SET due_us = ?, attempts = ? WHERE serial = ?",
            due_us, row.attempts + 1, row.serial,
        )  # fmt: skip


async def give_up(db: Db, business_id: int, serial: str) -> None:
    """Too many failed attempts: drop the push (the next change queues it again)."""
    async with db.write(business_id) as tx:
        await tx.execute("DELETE FROM wallet_pushes WHERE serial = ?", serial)


async def count_queued(db: Db) -> int:
    """How many passes wait for a push."""
    async with db.read() as tx:
        return int(await tx.fetchval("SELECT COUNT(*) FROM wallet_pushes"))
