"""The text of PostgreSQL statements (pure): ``?`` placeholders numbered, single-row writes
rewritten as one statement over JSON rows, reads asked together as one, ``BEGIN`` with the
advisory locks. ``postgres.py`` sends them."""

import re
from collections.abc import Sequence
from functools import lru_cache

QMARK_RE = re.compile(r"\?")
INSERT_RE = re.compile(r"^(INSERT INTO \w+ \([^)]*\)) VALUES \(([^()]*)\)(.*)$", re.DOTALL)
UPDATE_RE = re.compile(r"^UPDATE (\w+) SET (.*) WHERE (.*)$", re.DOTALL)


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, ...`` (our SQL has no ``?`` inside literals)."""
    counter = iter(range(1, 10_000))
    return QMARK_RE.sub(lambda _: f"${next(counter)}", sql)


SELECT_RE = re.compile(r"^SELECT ((?:\w+, )*\w+) FROM ", re.DOTALL)
WRITTEN_RE = re.compile(r"^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.IGNORECASE)
PARAM_RE = re.compile(r"\$(\d+)")


def written_table(sql: str) -> str | None:
    """The table a single ``INSERT``, ``UPDATE`` or ``DELETE`` writes (``None``: not one)."""
    found = WRITTEN_RE.match(sql)
    return found.group(1).lower() if found else None


def renumbered(sql: str, offset: int) -> str:
    """``$n`` placeholders as ``$(n + offset)``."""
    return PARAM_RE.sub(lambda m: f"${int(m.group(1)) + offset}", sql) if offset else sql


@lru_cache(maxsize=128)
def reads_together(queries: tuple[str, ...]) -> str | None:
    """``queries`` (``?`` parameters in turn) as one statement of one row: each query's rows
    as the JSON text of an array of arrays; ``None`` if one of them is not a plain
    ``SELECT a, b FROM ...`` (its columns named as the JSON array needs them).

    A small sync batch asks five to seven such reads before anything else (``batch_io``): one
    round trip instead of one each. ``bench/fleet.py`` at a fixed load (1,000 tills, 2026-12-07,
    loaded machine): the cloud's CPU per request 1,277 -> 1,173 µs (``bench/README.md``)."""
    parts = []
    for sql in queries:
        columns = SELECT_RE.match(sql)
        if columns is None:
            return None
        parts.append(
            f"(SELECT coalesce(json_agg(json_build_array({columns.group(1)})), '[]')::text "  # noqa: S608
            f"FROM ({sql}) AS q)"
        )
    return numbered("SELECT " + ", ".join(parts))


def begin_locked(business_ids: Sequence[int]) -> str:
    """``BEGIN`` and the businesses' advisory locks (ascending, so two writers never deadlock)
    as one simple-protocol text: one round trip where a transaction object and a parameterised
    lock statement take two. The ids are ours (integers), written as integer literals.

    With the pool's reset (``_keep_session``) it takes a small batch's round trips from 11 to
    9 (``tests/sync/cloud/test_pg_round_trips.py``)."""
    ids = sorted({int(b) for b in business_ids})
    if len(ids) == 1:
        return f"BEGIN; SELECT pg_advisory_xact_lock({ids[0]})"
    listed = ",".join(str(b) for b in ids)
    return (  # integers only: nothing from outside is spelled into the text
        "BEGIN; SELECT count(pg_advisory_xact_lock(b)) FROM "  # noqa: S608
        f"(SELECT b FROM unnest('{{{listed}}}'::bigint[]) AS b ORDER BY b OFFSET 0) AS s"
    )


def json_column(i: int, types: list[str]) -> str:
    """Column ``i`` of a row sent as a JSON array (``executemany``), as the parameter's type:
    ``->>`` gives a string's text, a number's digits or NULL for null."""
    return f"(e->>{i})::{types[i]}"
