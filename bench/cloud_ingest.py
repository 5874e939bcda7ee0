"""The cloud store's own ingest ceiling: events/s through ``POST /v1/sync/events`` in batches of
500, and receipt-QR claims/s, on SQLite and on PostgreSQL, beside the raw batched-INSERT rate of
the same database in the same run.

Run by hand: ``python bench/cloud_ingest.py [--batches 40] [--clients 4] [--claims 2000]
[--history 0]``.
The cloud runs as a real ``stampedge cloud`` subprocess (SQLite file: WAL + synchronous=FULL;
PostgreSQL: 127.0.0.1:5432, a fresh database dropped afterwards). The event mix per batch is
identified checks on existing cards (40 %), receipt QRs issued (30 %), checks without a customer
(15 %) and kiosk scans (15 %). "Raw INSERT" is ``executemany`` of 500 ledger rows per
transaction into the same ``events`` table through the same driver: the ceiling no ingest path
on that database can beat: the best of three runs of as many events as the ingest. On SQLite
the same rows by ``sqlite3``'s ``executemany`` alone (no event loop, no group commit, SQLite's
own checkpoints) are shown beside it. ``--history N``: both databases first hold N batches
(the ingest's: sent through the API; the ceiling's: N * 500 ledger rows), untimed, as a store in
service does; by default both start empty. Prints a Markdown table.
"""

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import free_port, spawn, table, wait_ready
from sync.cloud.provision import init_business
from sync.cloud.store import open_db, open_store
from sync.cloud.store.schema import migrations
from sync.contract import claim_token

BATCH = 500
PG_ADMIN = os.environ.get("STAMPEDGE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


RAW_SQL = (
    "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, payload, "
    "device_time, received_us, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)


def _raw_rows(batches: int) -> list[list[tuple[Any, ...]]]:
    now = datetime.now(UTC).isoformat()
    return [
        [(str(uuid.uuid4()), 1, 1, 1, "order.recorded", "h" * 64, '{"order_id":"x"}', now, 1, i)
         for i in range(BATCH)]
        for _ in range(batches)
    ]  # fmt: skip


async def _raw_through_store(url: str, batches: int, history: int) -> float:
    """500 rows a transaction through the store's own ``Db.write`` and ``Tx.executemany``
    (SQLite: many-row statements, group commit; PostgreSQL: one INSERT over the rows as one
    JSON array), after ``history`` such transactions (untimed)."""
    db = await open_db(url)
    try:
        await db.migrate(migrations(db.dialect))
        async with db.write(1) as tx:
            await tx.execute("DELETE FROM events")
        for chunk in _raw_rows(history):
            async with db.write(1) as tx:
                await tx.executemany(RAW_SQL, chunk)
        rows = _raw_rows(batches)
        start = time.perf_counter()
        for chunk in rows:
            async with db.write(1) as tx:
                await tx.executemany(RAW_SQL, chunk)
        return batches * BATCH / (time.perf_counter() - start)
    finally:
        await db.close()


def _raw_stdlib(path: str, batches: int, history: int) -> float:
    """500 rows a transaction by ``sqlite3`` ``executemany`` alone (WAL, synchronous=FULL,
    SQLite's own checkpoints), into the same table, after ``history`` such transactions."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"):
            conn.execute(pragma)
        conn.execute("DELETE FROM events")
        for chunk in _raw_rows(history):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(RAW_SQL, chunk)
            conn.execute("COMMIT")
        rows = _raw_rows(batches)
        start = time.perf_counter()
        for chunk in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(RAW_SQL, chunk)
            conn.execute("COMMIT")
        return batches * BATCH / (time.perf_counter() - start)
    finally:
        conn.close()


async def raw_insert_rate(
    url: str, batches: int, history: int = 0, runs: int = 3
) -> tuple[float, float | None]:
    """Events/s of plain batched INSERTs (500 a transaction) into an ``events`` table holding
    ``history`` such transactions, the best of ``runs`` runs (a slow moment on a shared machine
    does not lower the ceiling): through the store's own path (the ceiling), and on SQLite by
    ``sqlite3`` alone."""
    store, alone = 0.0, None
    for _ in range(runs):
        store = max(store, await _raw_through_store(url, batches, history))
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            alone = max(alone or 0.0, await asyncio.to_thread(_raw_stdlib, path, batches, history))
    return store, alone


def _batch(cards: list[str], device: int, n: int, secret: str, device_id: int,
           tokens: list[str], rnd: random.Random) -> bytes:  # fmt: skip
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    for i in range(BATCH):
        oid = f"d{device}-b{n}-{i}"
        base = {"order_id": oid, "total": "23.50", "currency": "EUR", "stamps": 2,
                "rule": "by_amount", "till": "till-1"}  # fmt: skip
        roll = i % 20
        if roll < 8:
            kind, payload = "order.stamped", {**base, "customer": {"card": rnd.choice(cards)}}
        elif roll < 14:
            token, ct = claim_token.mint(secret=secret, device_id=device_id, order_id=oid,
                                         stamps=2, now=now, ttl_hours=720)  # fmt: skip
            tokens.append(token)
            kind = "receipt_qr.issued"
            payload = {**base, "order_ref": ct.order_ref,
                       "claim_expires_at": ct.expires_at.isoformat()}  # fmt: skip
        elif roll < 17:
            kind, payload = "order.recorded", base
        else:
            kind = "scan.stamped"
            payload = {"scan_id": oid, "stamps": 1, "customer": {"card": rnd.choice(cards)}}
        events.append({"id": str(uuid.uuid4()), "type": kind, "device_time": now.isoformat(),
                       "payload": payload})  # fmt: skip
    return json.dumps({"events": events}).encode()


async def _post_all(url: str, jobs: list[tuple[str, bytes]], clients: int) -> float:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            key, body = queue.get_nowait()
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            async with session.post(url, data=body, headers=headers) as resp:
                data = await resp.json()
                if resp.status != 200 or any(r["status"] != "applied" for r in data["results"]):
                    raise RuntimeError(f"batch not applied: {str(data)[:300]}")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(clients)))
        return time.perf_counter() - start


async def _claims(base: str, tokens: list[str], clients: int) -> float:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for t in tokens:
        queue.put_nowait(t)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            token = queue.get_nowait()
            async with session.post(f"{base}/v1/claims/{token}") as resp:
                await resp.read()
                if resp.status != 201:
                    raise RuntimeError(f"claim answered {resp.status}")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(clients)))
        return time.perf_counter() - start


async def run_backend(
    url: str, raw_url: str, home: Path, args: argparse.Namespace
) -> dict[str, float]:
    """Raw ceiling (on a twin database at ``raw_url``), HTTP ingest and claims on ``url``."""
    ceiling, alone = await raw_insert_rate(raw_url, args.batches, args.history)
    store = await open_store(url)
    try:
        link = await init_business(store, business="Bench", branch="Main", rule="by_amount")
        devices = [(link["device_key"], link["device_secret"], link["device_id"])]
        for i in range(1, args.clients):
            d = await store.create_device(link["business_id"], link["branch_id"], f"t{i}",
                                          datetime.now(UTC))  # fmt: skip
            devices.append((d.device_key, d.device_secret, d.device_id))
        cards = []
        for i in range(200):
            from sync.cloud.store.tenancy import Principal

            who = Principal("admin", link["business_id"])
            c = await store.create_customer(who, f"c{i}@example.com", None, datetime.now(UTC))
            cards.append(c.card_code)
    finally:
        await store.close()
    port = free_port()
    config = home / f"cloud-{port}.toml"
    config.write_text(f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "{url}"\n'
                      f"max_body_bytes = {16 * 1024 * 1024}\n")  # fmt: skip
    proc = spawn(["-m", "agent.cli", "cloud", "--config", str(config)])
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base + "/health")
        rnd = random.Random(1)
        tokens: list[str] = []
        warm = [(devices[0][0], _batch(cards, 0, -1, devices[0][1], devices[0][2], [], rnd))]
        await _post_all(base + "/v1/sync/events", warm, 1)
        history = []  # the store in service: earlier batches, not timed (their QRs unclaimed)
        for n in range(args.history):
            key, secret, device_id = devices[n % len(devices)]
            history.append(
                (key, _batch(cards, n % len(devices), -2 - n, secret, device_id, [], rnd))
            )
        await _post_all(base + "/v1/sync/events", history, args.clients)
        jobs = []
        for n in range(args.batches):
            key, secret, device_id = devices[n % len(devices)]
            jobs.append((key, _batch(cards, n % len(devices), n, secret, device_id, tokens, rnd)))
        seconds = await _post_all(base + "/v1/sync/events", jobs, args.clients)
        picked = tokens[: args.claims]
        claim_16 = len(picked) / await _claims(base, picked, 16)
        more = tokens[args.claims : 2 * args.claims]
        claim_64 = len(more) / await _claims(base, more, 64)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "ceiling": ceiling,
        "alone": alone or 0.0,
        "ingest": args.batches * BATCH / seconds,
        "claims16": claim_16,
        "claims64": claim_64,
    }


async def http_ceiling(n: int) -> float:
    """Requests/s of a bare aiohttp app (``bench/empty_server.py``) under the claims' client."""
    port = free_port()
    proc = spawn(["bench/empty_server.py", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base + "/health")
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def worker(session: aiohttp.ClientSession) -> None:
            while not queue.empty():
                queue.get_nowait()
                async with session.post(f"{base}/v1/orders") as resp:
                    await resp.read()

        connector = aiohttp.TCPConnector(limit=16)
        async with aiohttp.ClientSession(connector=connector) as session:
            start = time.perf_counter()
            await asyncio.gather(*(worker(session) for _ in range(16)))
            return n / (time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _pg_fresh() -> tuple[str, str] | None:
    try:
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, ImportError) as err:
        print(f"PostgreSQL skipped: {err}", file=sys.stderr)
        return None
    name = f"stampedge_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name


async def _pg_drop(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=40, help="batches of 500 per backend")
    parser.add_argument("--clients", type=int, default=4, help="devices posting at once")
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="batches of 500 both databases hold before the timed ones",
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{home / 'cloud.db'}"
            got = await run_backend(url, f"sqlite:///{home / 'raw.db'}", home, args)
            rows.append(("SQLite (WAL, synchronous=FULL)", got))
        pg = await _pg_fresh() if args.only in (None, "postgresql") else None
        if pg is not None:
            raw = await _pg_fresh()
            try:
                got = await run_backend(pg[0], raw[0] if raw else pg[0], home, args)
                rows.append(("PostgreSQL (127.0.0.1)", got))
            finally:
                await _pg_drop(pg[1])
                if raw is not None:
                    await _pg_drop(raw[1])
    ceiling = await http_ceiling(args.claims)
    held = f" into a store holding {args.history * BATCH:,} events" if args.history else ""
    print(f"\n{args.batches} batches of {BATCH} events from {args.clients} devices at once{held}; "
          f"{os.cpu_count()} CPUs; "
          f"HTTP ceiling (bare aiohttp, same client): {ceiling:,.0f} requests/s\n")  # fmt: skip
    print(table(
        ["database", "raw INSERT ev/s (ceiling)", "ingest ev/s", "of ceiling",
         "claims/s, 16 phones at once", "claims/s, 64 at once", "sqlite3 executemany alone"],
        [(name, f"{r['ceiling']:,.0f}", f"{r['ingest']:,.0f}", f"{r['ingest'] / r['ceiling']:.0%}",
          f"{r['claims16']:,.0f}", f"{r['claims64']:,.0f}",
          f"{r['alone']:,.0f} ({r['ingest'] / r['alone']:.0%})" if r["alone"] else "-")
         for name, r in rows],
    ))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
