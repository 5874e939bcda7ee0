"""The agent's own tables in its SQLite file: orders (idempotency), scans, the card cache, kv."""

import json
from typing import Any

from sync.edge.outbox import Outbox, Stmt

SCHEMA = [
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


def kv_set(key: str, value: Any) -> Stmt:
    """The statement that stores ``value`` (as JSON) under ``key``."""
    return (
        "INSERT INTO kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, default=str)),
    )


async def kv_get(db: Outbox, key: str) -> Any:
    """The JSON value stored under ``key``, or None."""
    row = await db.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
    return json.loads(row["value"]) if row else None
