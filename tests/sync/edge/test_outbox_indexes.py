"""The outbox's indexes: an outbox written by an older agent opens with the partial indexes the
uploader walks, and every figure and query reads the same rows as before."""

import sqlite3
import time
from pathlib import Path

from sync.contract.events import canonical_json
from sync.edge.client import CloudClient
from sync.edge.uploader import Uploader
from tests.agent_db import open_box
from tests.sync.edge.conftest import order_event
from tests.sync.edge.stand_in_cloud import StandInCloud

OLD_SCHEMA = [
    """CREATE TABLE outbox (
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
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at, seq)",
    "CREATE INDEX outbox_acked ON outbox (state, acked_at)",
]


def _old_outbox(path: Path, states: list[str]) -> None:
    db = sqlite3.connect(path)
    for ddl in OLD_SCHEMA:
        db.execute(ddl)
    now = time.time()
    for i, state in enumerate(states):
        e = order_event(f"old{i}")
        db.execute(
            "INSERT INTO outbox (event_id, type, payload, payload_hash, device_time, state, "
            "created_at, acked_at) VALUES (?, ?, ?, 'h', ?, ?, ?, ?)",
            (
                str(e.event_id),
                e.type,
                canonical_json(e.payload),
                e.device_time.isoformat(),
                state,
                now - 100 + i,
                now if state == "acked" else None,
            ),
        )
    db.commit()
    db.close()


async def test_given_an_outbox_from_an_older_agent_when_opened_then_it_drains_by_the_new_indexes(
    tmp_path: Path, stand_in: tuple[StandInCloud, str]
) -> None:
    cloud, url = stand_in
    path = tmp_path / "agent.db"
    _old_outbox(path, ["acked", "pending", "sent", "dead", "pending"])
    box = await open_box(path)
    client = CloudClient(url, cloud.key, timeout_s=2.0)
    try:
        names = {
            r[0] for r in await box.fetchall("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {"outbox_pending", "outbox_dead", "outbox_acked_at"} <= names
        assert not {"outbox_due", "outbox_acked"} & names
        before = await box.counts()
        # 'sent' at open is an answer never heard: pending again
        assert (before.pending, before.sent, before.acked, before.dead) == (3, 0, 1, 1)
        assert before.oldest_pending_age_s is not None and before.oldest_pending_age_s >= 98
        out = await Uploader(box, client).drain()
        after = await box.counts()
    finally:
        await client.close()
        await box.close()
    assert out.applied == 3
    assert [m["order_id"] for m in cloud.ledger_rows()] == ["old1", "old2", "old4"]
    assert (after.pending, after.acked, after.dead, after.oldest_pending_age_s) == (0, 4, 1, None)
