"""A customer erased in the cloud is forgotten at the till (issue #19).

The state pull brings the erased card (``CardState.erased``); before the page is stored, the
cached card tells which names the till may have kept (card code, number, email, name, phone),
and every record the agent keeps is scrubbed of them in one transaction: the card and its
rewards leave the cache, and the checks, scans, print jobs, event answers, redemptions, kiosk
cooldowns and the outbox's delivered events have each name replaced (``sync.contract.erasure``).
The
write-ahead log is then emptied, so the old pages are not left in it (the database writes with
``secure_delete``, so freed space holds no old rows either).

Outbox events not yet delivered are left as they are: the cloud must still count their checks,
and a check made after the erasure that names the customer is a new identification by them.
"""

import sqlite3
from collections.abc import Sequence

from sync.contract.erasure import erase_names, like_needles, names_pattern

SCRUBBED: Sequence[tuple[str, str, tuple[str, ...], str]] = (
    ("orders", "order_id", ("customer", "answer", "void_answer"), ""),
    ("scans", "scan_id", ("code",), ""),
    ("print_jobs", "job_id", ("receipt", "detail"), ""),
    ("event_results", "event_id", ("ref", "effects"), ""),
    ("redemptions", "code", ("answer",), ""),
    ("outbox", "seq", ("payload",), "state IN ('acked', 'dead') AND "),
)
"""Per table: its key, the text columns that may name a customer, and which rows to scrub."""


def forget_customers(customer_ids: Sequence[str], db: sqlite3.Connection) -> int:
    """Scrub every record naming the cached cards ``customer_ids`` and drop them from the cache
    (on the writer's connection, in one transaction); how many rows were rewritten."""
    db.execute("BEGIN IMMEDIATE")
    changed = 0
    for customer_id in customer_ids:
        row = db.execute(
            "SELECT card_code, number, email, name, phone FROM cards WHERE customer_id = ?",
            (customer_id,),
        ).fetchone()
        if row is None:
            continue  # never cached here, or forgotten already
        names = [row[0], row[1], row[2], row[3], row[4]]
        changed += _scrub(db, names)
        db.execute(
            "DELETE FROM scan_cooldowns WHERE customer_key IN (?, ?, ?)",
            (customer_id, row[0], row[1]),
        )
        db.execute("DELETE FROM card_rewards WHERE customer_id = ?", (customer_id,))
        db.execute("DELETE FROM cards WHERE customer_id = ?", (customer_id,))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return changed


def _scrub(db: sqlite3.Connection, names: list[str | None]) -> int:
    pattern = names_pattern(names)
    needles = like_needles(names)
    changed = 0
    for table, key, columns, rows in SCRUBBED:
        for column in columns:
            match = " OR ".join(f"instr(lower({column}), ?) > 0" for _ in needles)
            found = db.execute(
                f"SELECT {key}, {column} FROM {table} WHERE {rows}({match})",  # noqa: S608
                needles,
            ).fetchall()
            for found_key, text in found:
                clean = erase_names(text, pattern)
                if clean != text:
                    db.execute(
                        f"UPDATE {table} SET {column} = ? WHERE {key} = ?",  # noqa: S608
                        (clean, found_key),
                    )
                    changed += 1
    return changed
