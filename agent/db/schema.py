"""Every table of the agent's SQLite file and its migrations, in one ordered list.

``MIGRATIONS[i]`` takes a database from ``PRAGMA user_version`` ``i`` to ``i + 1``; each runs in
the transaction that opens the file, so a crash leaves the old version or the new one, never half.
Version 1 is the schema of the first release, written with ``IF NOT EXISTS`` so that the files
that release made (``user_version`` 0, tables already there) take it as they are. A new table or
column is a new entry at the end: never edit one that has shipped. A file whose version is newer
than ``SCHEMA_VERSION`` was written by a later release and is refused (``DatabaseTooNew``), so a
rollback never writes into a schema it does not know.
"""

import sqlite3

from agent.db.errors import DatabaseTooNew

V1_OUTBOX = [
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        payload_hash TEXT NOT NULL,
        device_time TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'acked', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        acked_at REAL
    )""",
    # Partial indexes, one per state that is looked up: an ack moves a row out of one small
    # index and into another. Indexes keyed on ``state`` itself moved every acked row between
    # two regions of two indexes, which was two thirds of the agent's CPU while draining.
    "DROP INDEX IF EXISTS outbox_due",
    "DROP INDEX IF EXISTS outbox_acked",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE state = 'pending'",
    "CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (seq) WHERE state = 'sent'",
    "CREATE INDEX IF NOT EXISTS outbox_dead ON outbox (seq) WHERE state = 'dead'",
    "CREATE INDEX IF NOT EXISTS outbox_acked_at ON outbox (acked_at) WHERE state = 'acked'",
]

V1_AGENT = [
    """CREATE TABLE IF NOT EXISTS orders (
        order_id TEXT PRIMARY KEY,
        body_hash TEXT NOT NULL,
        answer TEXT NOT NULL,
        till TEXT,
        customer TEXT,
        stamps INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        created_at REAL NOT NULL,
        attached_at REAL,
        voided_at REAL,
        void_answer TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS orders_till ON orders (till, created_at)",
    """CREATE TABLE IF NOT EXISTS scans (
        scan_id TEXT PRIMARY KEY,
        code TEXT NOT NULL,
        kind TEXT,
        till TEXT,
        source TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        order_id TEXT,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS scans_created ON scans (created_at)",
    """CREATE TABLE IF NOT EXISTS cards (
        customer_id TEXT PRIMARY KEY,
        card_code TEXT NOT NULL,
        number TEXT NOT NULL,
        email TEXT,
        name TEXT,
        balance INTEGER NOT NULL DEFAULT 0,
        updated_seq INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS cards_code ON cards (card_code)",
    "CREATE INDEX IF NOT EXISTS cards_number ON cards (number)",
    "CREATE INDEX IF NOT EXISTS cards_email ON cards (email)",
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Kiosk cooldown per customer (card code, number, or cached customer id), kept over restarts.
    """CREATE TABLE IF NOT EXISTS scan_cooldowns (
        customer_key TEXT PRIMARY KEY,
        stamped_at REAL NOT NULL,
        scan_id TEXT NOT NULL
    )""",
]

V1_PRINT_JOBS = [
    """CREATE TABLE IF NOT EXISTS print_jobs (
        job_id TEXT PRIMARY KEY,
        order_id TEXT,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('queued', 'sending', 'sent', 'confirmed', 'failed', 'stale')),
        reason TEXT,
        detail TEXT,
        receipt TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        deadline REAL NOT NULL,
        printed_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS print_jobs_queue ON print_jobs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS print_jobs_order ON print_jobs (order_id, created_at)",
]

# Version 2: phones and tablets paired from the status page (the staff scanner, the kiosk).
# Only a SHA-256 of each session's cookie is kept; a revoked session keeps its row (and its
# scans' ``source`` still names it) with ``revoked_at`` set.
V2_DEVICE_SESSIONS = [
    """CREATE TABLE device_sessions (
        session_id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('kiosk', 'staff')),
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        revoked_at REAL
    )""",
]

# Version 3: rewards at the till (issue #15). A check keeps the id of the event whose answer
# tells its rewards; ``event_results`` keeps what the cloud said each applied event credited
# (and whether the POS webhook has been told); ``redemptions`` is every reward this agent
# redeemed (online or offline: a code is never redeemed twice here); ``card_rewards`` is the
# open rewards of each cached card, for quotes and offline redeems.
V3_REWARDS = [
    "ALTER TABLE orders ADD COLUMN event_id TEXT",
    """CREATE TABLE event_results (
        event_id TEXT PRIMARY KEY,
        ref TEXT,
        type TEXT NOT NULL,
        effects TEXT NOT NULL,
        applied_at REAL NOT NULL,
        webhook TEXT NOT NULL DEFAULT 'due' CHECK (webhook IN ('due', 'sent', 'off')),
        webhook_attempts INTEGER NOT NULL DEFAULT 0,
        webhook_error TEXT,
        webhook_next_at REAL NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX event_results_ref ON event_results (ref)",
    "CREATE INDEX event_results_webhook ON event_results (webhook_next_at) WHERE webhook = 'due'",
    """CREATE TABLE redemptions (
        code TEXT PRIMARY KEY,
        order_id TEXT,
        till TEXT,
        source TEXT NOT NULL CHECK (source IN ('cloud', 'offline')),
        answer TEXT NOT NULL,
        event_id TEXT,
        redeemed_at REAL NOT NULL
    )""",
    "CREATE INDEX redemptions_order ON redemptions (order_id)",
    """CREATE TABLE card_rewards (
        code TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        reward TEXT NOT NULL
    )""",
    "CREATE INDEX card_rewards_customer ON card_rewards (customer_id)",
]

# Version 4: retention (issue #19, ``agent/db/retention.py``). Checks, scans and print jobs
# older than ``agent.retention_days`` are deleted; each pruned check leaves its id (a POS check
# id, nothing personal) and when it was made, so a void or reprint of it answers 410
# ``order_pruned`` rather than "never seen".
V4_RETENTION = [
    """CREATE TABLE pruned_orders (
        order_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        pruned_at REAL NOT NULL
    )""",
    "CREATE INDEX orders_created ON orders (created_at)",
    "CREATE INDEX print_jobs_created ON print_jobs (created_at)",
]

# Version 5: phone numbers (issue #19). The card cache keeps each card's phone (E.164) so a
# till finds a customer by phone while the cloud cannot be asked.
V5_PHONES = [
    "ALTER TABLE cards ADD COLUMN phone TEXT",
    "CREATE INDEX cards_phone ON cards (phone)",
]

# Version 6: two tills with the same check number (issue #14). A POS's check ids are unique per
# till only: a check is keyed by ``order_key`` (``agent.orders.keys.order_key``: the bare id for
# a check without a till, else till + "\x1f" + id), so an existing row keeps its id as key
# when it had no till and gets its till's key otherwise.
_V6_ORDER_COLS = (
    "order_id, body_hash, answer, till, customer, stamps, event_type, created_at, attached_at, "
    "voided_at, void_answer, event_id"
)
V6_ORDER_KEYS = [
    """CREATE TABLE orders_v6 (
        order_key TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        answer TEXT NOT NULL,
        till TEXT,
        customer TEXT,
        stamps INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        created_at REAL NOT NULL,
        attached_at REAL,
        voided_at REAL,
        void_answer TEXT,
        event_id TEXT
    )""",
    f"INSERT INTO orders_v6 (order_key, {_V6_ORDER_COLS}) "  # noqa: S608
    "SELECT CASE WHEN till IS NULL THEN order_id ELSE till || char(31) || order_id END, "
    f"{_V6_ORDER_COLS} FROM orders",
    "DROP TABLE orders",
    "ALTER TABLE orders_v6 RENAME TO orders",
    "CREATE INDEX orders_till ON orders (till, created_at)",
    "CREATE INDEX orders_id ON orders (order_id)",
    "CREATE INDEX orders_created ON orders (created_at)",  # v4's, gone with the old table
]

MIGRATIONS: list[list[str]] = [
    [*V1_OUTBOX, *V1_AGENT, *V1_PRINT_JOBS],
    V2_DEVICE_SESSIONS,
    V3_REWARDS,
    V4_RETENTION,
    V5_PHONES,
    V6_ORDER_KEYS,
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> int:
    """Bring ``db`` (inside an open transaction) to ``SCHEMA_VERSION``; the version it had."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise DatabaseTooNew(found, SCHEMA_VERSION)
    for statements in MIGRATIONS[found:]:
        for ddl in statements:
            db.execute(ddl)
    if found != SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    return found
