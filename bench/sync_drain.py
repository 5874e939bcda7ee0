"""Draining an agent's backlog into the cloud: 100,000 queued events through the real uploader.

Run by hand: ``python bench/sync_drain.py [--events 100000] [--no-pg]``.

Per database (SQLite file: WAL + synchronous=FULL; PostgreSQL on 127.0.0.1:5432, a fresh
database dropped afterwards): a business is provisioned, a real ``stampedge cloud`` subprocess
serves it, and an agent outbox (a real SQLite file, WAL + synchronous=FULL) is filled with
``--events`` events in the same mix ``bench/cloud_ingest.py`` sends (identified checks, receipt
QRs, plain checks, kiosk scans), then ``Uploader.drain()`` sends them in batches of 500, as
``stampedge queue flush`` does (up to ``--window`` on the wire; plain, as the agent sends to a
cloud on loopback, or gzipped as to a remote one with ``--gzip``). Filling is not timed.
The cloud's own ingest ceiling comes from ``bench/cloud_ingest.py`` (``run_backend``: HTTP ingest
with several devices at once, as many events as the drain by default, and the raw batched INSERT
rate of the same database) in the same run. Beside the rates: the CPU each side spent per batch
during the drain (the agent: this process, its event loop and both SQLite threads; the cloud:
its process), and the cloud's CPU time over the drain's wall time (about 100 % when the cloud is
the bottleneck; it has a database thread, so it can exceed 100 %). Prints a Markdown table.
"""

import argparse
import asyncio
import inspect
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.db import open_agent_db
from bench._common import free_port, spawn, table, wait_ready
from bench.cloud_ingest import _batch, _pg_drop, _pg_fresh, run_backend
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from sync.cloud.store.tenancy import Principal
from sync.edge.client import CloudClient
from sync.edge.outbox import NewEvent, Outbox
from sync.edge.uploader import Uploader

BATCH = 500


async def provision(url: str) -> tuple[dict[str, Any], list[str]]:
    """A business with one device and 200 customers; (init result, card codes)."""
    store = await open_store(url)
    try:
        link = await init_business(store, business="Drain", branch="Main", rule="by_amount")
        who = Principal("admin", link["business_id"])
        cards = []
        for i in range(200):
            c = await store.create_customer(who, f"d{i}@example.com", None, datetime.now(UTC))
            cards.append(c.card_code)
    finally:
        await store.close()
    return link, cards


async def fill(box: Outbox, n: int, link: dict[str, Any], cards: list[str]) -> None:
    """Queue ``n`` events of the ingest bench's mix, 5,000 per transaction."""
    rnd = random.Random(7)
    tokens: list[str] = []
    secret, device_id = link["device_secret"], link["device_id"]
    made = 0
    chunk: list[NewEvent] = []
    batch_no = 0
    while made < n:
        body = json.loads(_batch(cards, 9, batch_no, secret, device_id, tokens, rnd))
        batch_no += 1
        for e in body["events"][: n - made]:
            chunk.append(
                NewEvent(
                    event_id=uuid.UUID(e["id"]),
                    type=e["type"],
                    payload=e["payload"],
                    device_time=datetime.fromisoformat(e["device_time"]),
                )
            )
        made = min(n, made + BATCH)
        if len(chunk) >= 5000 or made == n:
            await box.append(chunk)
            chunk = []


async def drain_backend(
    url: str, home: Path, events: int, window: int, gzip: bool
) -> dict[str, float]:
    """Provision, serve, fill an outbox and time its drain; events/s and a check."""
    link, cards = await provision(url)
    port = free_port()
    config = home / f"cloud-{port}.toml"
    config.write_text(
        f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "{url}"\n'
        f"max_body_bytes = {16 * 1024 * 1024}\n"
    )
    proc = spawn(["-m", "agent.cli", "cloud", "--config", str(config)])
    base = f"http://127.0.0.1:{port}"
    db = await open_agent_db(home / f"agent-{port}" / "agent.db")
    box = Outbox(db)
    client = CloudClient(base, link["device_key"], timeout_s=120, compress=gzip or None)
    try:
        await wait_ready(base + "/health")
        await fill(box, events, link, cards)
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n

        cpu0, cloud0 = _own_cpu_s(), _proc_cpu_s(proc.pid)
        start = time.perf_counter()
        outcome = await Uploader(box, client, batch_size=BATCH, window=window).drain(progress)
        seconds = time.perf_counter() - start
        agent_cpu, cloud_cpu = _own_cpu_s() - cpu0, _proc_cpu_s(proc.pid) - cloud0
        counts = await box.counts()
    finally:
        await client.close()
        await db.close()
        proc.terminate()
        proc.wait(timeout=30)
    if outcome.applied != events or counts.acked != events:
        raise RuntimeError(
            f"drain incomplete: {outcome.applied} applied, {len(outcome.dead)} dead, "
            f"{counts.acked} acked of {events}: {outcome.dead[:3]}"
        )
    batches = events / BATCH
    return {
        "seconds": seconds,
        "rate": events / seconds,
        "agent_ms": 1000 * agent_cpu / batches,
        "cloud_ms": 1000 * cloud_cpu / batches,
        "cloud_busy": cloud_cpu / seconds,
    }


def _own_cpu_s() -> float:
    """CPU seconds of this process (the agent side: event loop, writer and reader threads)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of another process, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backend(name: str, url: str, home: Path, args: argparse.Namespace) -> tuple[Any, ...]:
    """One row of the table."""
    drained = await drain_backend(url, home, args.events, args.window, args.gzip)
    ceiling = await cloud_ceiling(url, home, args)
    return (
        name,
        f"{args.events:,}",
        f"{drained['seconds']:.1f}",
        f"{drained['rate']:,.0f}",
        f"{ceiling['ingest']:,.0f}",
        f"{drained['rate'] / ceiling['ingest']:.0%}",
        f"{drained['agent_ms']:.0f} / {drained['cloud_ms']:.0f}",
        f"{drained['cloud_busy']:.0%}",
        f"{ceiling['ceiling']:,.0f}",
    )


_PG_TO_DROP: list[str] = []


async def cloud_ceiling(url: str, home: Path, args: argparse.Namespace) -> dict[str, float]:
    """``bench/cloud_ingest.py``'s figures on fresh databases of the same kind as ``url``."""
    ceiling_args = argparse.Namespace(
        batches=args.ceiling_batches, clients=args.clients, claims=1, only=None
    )
    if url.startswith("sqlite"):
        ingest, raw = f"sqlite:///{home / 'ingest.db'}", f"sqlite:///{home / 'raw.db'}"
    else:
        ingest, raw = (await _fresh_or_fail())[0], (await _fresh_or_fail())[0]
    if len(inspect.signature(run_backend).parameters) == 4:  # (url, raw_url, home, args)
        return await run_backend(ingest, raw, home, ceiling_args)  # type: ignore[call-arg]
    return await run_backend(ingest, home, ceiling_args)  # type: ignore[call-arg,arg-type]


async def _fresh_or_fail() -> tuple[str, str]:
    pg = await _pg_fresh()
    if pg is None:
        raise RuntimeError("PostgreSQL went away")
    _PG_TO_DROP.append(pg[1])
    return pg


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--ceiling-batches", type=int, default=None, help="cloud_ingest batches (as many events)"
    )
    parser.add_argument("--clients", type=int, default=4, help="cloud_ingest devices at once")
    parser.add_argument("--window", type=int, default=4, help="batches on the wire at once")
    parser.add_argument("--gzip", action="store_true", help="gzip batches as to a remote cloud")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if args.ceiling_batches is None:  # the same amount of work: a cloud slows as its tables grow
        args.ceiling_batches = max(1, args.events // BATCH)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        rows.append(
            await backend("SQLite (WAL, synchronous=FULL)", f"sqlite:///{home / 'cloud.db'}",
                          home, args)
        )  # fmt: skip
        if not args.no_pg:
            try:
                pg = await _fresh_or_fail()
                rows.append(await backend("PostgreSQL (127.0.0.1)", pg[0], home, args))
            except (OSError, RuntimeError) as err:
                print(f"PostgreSQL skipped: {err}", file=sys.stderr)
            finally:
                for name in _PG_TO_DROP:
                    await _pg_drop(name)
    print(
        f"\n{args.events:,} queued events drained by one agent (batches of {BATCH}, up to "
        f"{args.window} on the wire{', gzipped' if args.gzip else ''}); cloud ingest from "
        f"bench/cloud_ingest.py with "
        f"{args.clients} devices at once, {args.ceiling_batches * BATCH:,} events; "
        f"{os.cpu_count()} CPUs\n"
    )
    print(
        table(
            ["cloud database", "events", "drain s", "drain ev/s", "cloud ingest ev/s",
             "drain / ingest", "CPU ms per batch: agent / cloud", "cloud CPU / drain time",
             "raw INSERT ev/s"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
