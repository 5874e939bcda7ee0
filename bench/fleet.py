"""Many tills against one cloud: small batches, state pulls and phone claims, ramped until it bends.

Run by hand: ``python bench/fleet.py [--db sqlite|postgresql] [--procs 1] [--tills 200,500,1000]
[--seconds 20] [--interval 20] [--businesses 20]``. Prints Markdown tables.

Each simulated till has its own device key (spread over ``--businesses`` businesses, one branch
each) and behaves as the agent's uploader does when checks trickle in: every ``--interval``
seconds (jittered ±50%) it posts a batch of one to three events (identified checks, receipt QRs,
checks without a customer); every 60 s (jittered) it pulls ``GET /v1/sync/state`` with its
cursor; one receipt QR in five is claimed by a "phone" a few seconds later. The load generator is
one process with one event loop and a bounded connection pool (``--connections``), so it does not
eat the server's cores; its own CPU is reported beside the cloud's.

Per step (a number of tills): tills sustained, events/s, requests/s, p50/p99 per request kind,
errors, and the cloud's CPU per request and per event (from ``/proc/<pid>/stat``, all cloud
processes and their helpers). Anchors in the same run: an empty aiohttp handler's CPU per request
(``bench/empty_server.py`` under the same client) and the same cloud's CPU per event for 500-event
batches. The ramp stops at the first step whose sync p99 passes 250 ms or that saw errors.

``--procs 2`` (PostgreSQL only) starts two cloud processes on two ports; the tills are split
between them (round-robin by till), as two workers behind a load balancer would be.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import free_port, spawn, table, wait_ready
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from sync.cloud.store.tenancy import Principal
from sync.contract import claim_token
from sync.contract.events import SyncState

PG_ADMIN = os.environ.get("STAMPEDGE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
P99_LIMIT_MS = 250.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Till:
    """One simulated till: its key, its signing secret, where it posts, what it has sent."""

    key: str
    secret: str
    device_id: int
    base: str
    cards: list[str]
    cursor: int = 0
    etag: str | None = None  # of the last state answer without cards, sent back as the agent does
    seq: int = 0
    sent: set[str] = field(default_factory=set)


@dataclass
class Step:
    """What one step of the ramp measured."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events: int = 0
    applied: int = 0
    requests: int = 0
    pulls: int = 0
    not_modified: int = 0


def proc_cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` and their reaped children (``/proc/<pid>/stat``)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 (1-based) of the whole line
        total += sum(int(f) for f in fields[11:15])
    return total / TICKS


def tree_pids(root: int) -> list[int]:
    """``root`` and its live descendants (the cloud's batch-reader helper among them: started
    from a worker thread, it is listed among that thread's children, not the main thread's)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        kids: list[str] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                kids.extend((task / "children").read_text().split())
            except (FileNotFoundError, ProcessLookupError):
                continue
        todo.extend(int(k) for k in kids)
    return out


def own_cpu_s() -> float:
    """This process's user + system CPU seconds."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` in ms (NaN for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def events_for(
    till: Till, rnd: random.Random, now: datetime
) -> tuple[list[dict[str, Any]], list[str]]:
    """One to three events as the agent would send them, and the receipt tokens among them."""
    events, tokens = [], []
    for _ in range(rnd.randint(1, 3)):
        till.seq += 1
        oid = f"t{till.device_id}-{till.seq}"
        base = {
            "order_id": oid,
            "total": "23.50",
            "currency": "EUR",
            "stamps": 2,
            "rule": "by_amount",
            "till": "till-1",
        }
        roll = rnd.random()
        if roll < 0.4:
            kind, payload = "order.stamped", {**base, "customer": {"card": rnd.choice(till.cards)}}
        elif roll < 0.75:
            token, ct = claim_token.mint(
                secret=till.secret,
                device_id=till.device_id,
                order_id=oid,
                stamps=2,
                now=now,
                ttl_hours=720,
            )
            kind = "receipt_qr.issued"
            payload = {
                **base,
                "order_ref": ct.order_ref,
                "claim_expires_at": ct.expires_at.isoformat(),
            }
            if rnd.random() < 0.2:
                tokens.append(token)
        else:
            kind, payload = "order.recorded", base
        eid = str(uuid.uuid4())
        till.sent.add(eid)
        events.append({"id": eid, "type": kind, "device_time": now.isoformat(), "payload": payload})
    return events, tokens


NOT_MODIFIED = object()  # a state pull answered 304


async def _timed(
    session: aiohttp.ClientSession,
    step: Step,
    kind: str,
    method: str,
    url: str,
    till: Till | None = None,
    **kw: Any,
) -> Any:
    """The answer's JSON (``None`` if it failed, ``NOT_MODIFIED`` for a 304); ``till``: a state
    pull whose ``ETag`` it keeps."""
    start = time.perf_counter()
    try:
        async with session.request(method, url, **kw) as resp:
            body = await resp.read()
            if kind == "state" and resp.status == 304:
                step.not_modified += 1
                return NOT_MODIFIED
            ok = resp.status < 300 or (kind == "claim" and resp.status in (409, 410))
            if not ok:
                step.errors[f"{kind} {resp.status}"] += 1
                return None
            if till is not None:
                till.etag = resp.headers.get("ETag")
            return json.loads(body) if body and kind != "claim" else None
    except (aiohttp.ClientError, TimeoutError) as err:
        step.errors[f"{kind} {type(err).__name__}"] += 1
        return None
    finally:
        step.latencies[kind].append(time.perf_counter() - start)
        step.requests += 1


async def run_till(
    session: aiohttp.ClientSession,
    till: Till,
    step: Step,
    interval: float,
    until: float,
    rnd: random.Random,
    pull_interval: float = 60.0,
) -> None:
    """One till's life for one step: batches on its jittered schedule, pulls, claims."""
    auth = {"Authorization": f"Bearer {till.key}"}
    next_batch = time.monotonic() + rnd.uniform(0, interval)
    next_pull = time.monotonic() + rnd.uniform(0, pull_interval)
    claims: list[asyncio.Task[Any]] = []
    while True:
        now_m = time.monotonic()
        wake = min(next_batch, next_pull)
        if wake >= until:
            break
        await asyncio.sleep(max(0.0, wake - now_m))
        if next_batch <= next_pull:
            events, tokens = events_for(till, rnd, datetime.now(UTC))
            answer = await _timed(
                session,
                step,
                "sync",
                "POST",
                till.base + "/v1/sync/events",
                json={"events": events},
                headers=auth,
            )
            step.events += len(events)
            if answer is not None:
                step.applied += sum(1 for r in answer["results"] if r["status"] == "applied")
            for token in tokens:
                claims.append(
                    asyncio.create_task(_claim_later(session, step, till.base, token, rnd))
                )
            next_batch += interval * rnd.uniform(0.5, 1.5)
        else:
            state_url = f"{till.base}/v1/sync/state?cursor={till.cursor}"
            asked = {**auth, "If-None-Match": till.etag} if till.etag else auth
            state = await _timed(session, step, "state", "GET", state_url, till, headers=asked)
            if state is NOT_MODIFIED:
                step.pulls += 1
            elif state is not None:
                try:
                    pulled = SyncState.model_validate(state)
                except ValueError:
                    step.errors["state invalid"] += 1
                else:
                    if pulled.cursor < till.cursor:
                        step.errors["state cursor went back"] += 1
                    till.cursor = pulled.cursor
                    step.pulls += 1
            next_pull += pull_interval * rnd.uniform(0.9, 1.1)
    await asyncio.gather(*claims)


async def _claim_later(
    session: aiohttp.ClientSession, step: Step, base: str, token: str, rnd: random.Random
) -> None:
    await asyncio.sleep(rnd.uniform(1.0, 4.0))
    await _timed(session, step, "claim", "POST", f"{base}/v1/claims/{token}")


async def provision(
    url: str, tills: int, businesses: int, bases: list[str], per_business: int = 50
) -> list[Till]:
    """Businesses with a branch, ``per_business`` cards each, and ``tills`` device keys spread over
    them."""
    store = await open_store(url)
    out: list[Till] = []
    try:
        links, cards = [], []
        for b in range(businesses):
            link = await init_business(
                store, business=f"Fleet {b}", branch="Main", rule="by_amount"
            )
            who = Principal("admin", link["business_id"])
            mine = []
            for i in range(per_business):
                c = await store.create_customer(who, f"c{i}@b{b}.example", None, datetime.now(UTC))
                mine.append(c.card_code)
            links.append(link)
            cards.append(mine)
        for t in range(tills):
            b = t % businesses
            link = links[b]
            if t < businesses:
                key, secret, dev = link["device_key"], link["device_secret"], link["device_id"]
            else:
                d = await store.create_device(
                    link["business_id"], link["branch_id"], f"t{t}", datetime.now(UTC)
                )
                key, secret, dev = d.device_key, d.device_secret, d.device_id
            out.append(Till(key, secret, dev, bases[t % len(bases)], cards[b]))
    finally:
        await store.close()
    return out


async def run_step(
    tills: list[Till],
    seconds: float,
    interval: float,
    connections: int,
    cloud_pids: list[int],
    pull_interval: float = 60.0,
) -> tuple[Step, float, float, float]:
    """All ``tills`` for ``seconds``; the step, its wall time, the cloud's and the client's CPU."""
    step = Step()
    rnd = random.Random(len(tills))
    conn = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    cpu0, own0 = proc_cpu_s(cloud_pids), own_cpu_s()
    start = time.monotonic()
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        await asyncio.gather(
            *(
                run_till(
                    session,
                    t,
                    step,
                    interval,
                    start + seconds,
                    random.Random(rnd.random()),
                    pull_interval,
                )
                for t in tills
            )
        )
    wall = time.monotonic() - start
    return step, wall, proc_cpu_s(cloud_pids) - cpu0, own_cpu_s() - own0


async def batch_anchor(base: str, till: Till, batches: int, cloud_pids: list[int]) -> float:
    """The cloud's CPU µs per event for 500-event batches (the same cloud, the same run)."""
    rnd = random.Random(7)
    bodies = []
    for _ in range(batches):
        events: list[dict[str, Any]] = []
        while len(events) < 500:
            more, _ = events_for(till, rnd, datetime.now(UTC))
            events.extend(more)
        bodies.append(json.dumps({"events": events[:500]}).encode())
    auth = {"Authorization": f"Bearer {till.key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        cpu0 = proc_cpu_s(cloud_pids)
        for body in bodies:
            async with session.post(base + "/v1/sync/events", data=body, headers=auth) as resp:
                assert resp.status == 200, await resp.text()
        return (proc_cpu_s(cloud_pids) - cpu0) / (batches * 500) * 1e6


async def empty_anchor(requests: int, connections: int, floor_dsn: str | None = None) -> float:
    """An empty aiohttp handler's CPU µs per request under this client; with ``floor_dsn``,
    the floor's (``bench/empty_server.py --floor``: a cached key check and one insert committed
    on that PostgreSQL database), its PostgreSQL backends' CPU not counted, as the cloud's is
    not."""
    port = free_port()
    floor = ["--floor", floor_dsn] if floor_dsn else []
    proc = spawn(["bench/empty_server.py", str(port), *floor])
    body = json.dumps({"events": [{"id": str(uuid.uuid4()), "type": "order.recorded"}]})
    headers = {"Authorization": "Bearer sk_1_floor", "Content-Type": "application/json"}
    try:
        await wait_ready(f"http://127.0.0.1:{port}/health")
        url = f"http://127.0.0.1:{port}/v1/orders"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as s:

            async def one() -> None:
                async with s.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 201, await resp.text()
                    await resp.read()

            cpu0 = proc_cpu_s([proc.pid])
            for _ in range(requests // 100):
                await asyncio.gather(*(one() for _ in range(100)))
            return (proc_cpu_s([proc.pid]) - cpu0) / requests * 1e6
    finally:
        proc.terminate()
        proc.wait()


async def _pg_database() -> str:
    import asyncpg

    name = f"stampedge_fleet_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


async def _drop_pg_database(url: str) -> None:
    """Drop the database ``_pg_database`` made (each run makes its own)."""
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"')
    finally:
        await admin.close()


async def main() -> None:
    """Provision, start the cloud(s), measure the anchors, ramp the tills, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--procs", type=int, default=1, choices=[1, 2])
    parser.add_argument("--tills", default="200,500,1000,2000", help="the ramp, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="per step")
    parser.add_argument(
        "--interval", type=float, default=20.0, help="seconds between a till's batches"
    )
    parser.add_argument("--businesses", type=int, default=20)
    parser.add_argument("--cards", type=int, default=50, help="cards per business")
    parser.add_argument(
        "--pull-interval", type=float, default=60.0, help="seconds between a till's state pulls"
    )
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if args.procs == 2 and args.db != "postgresql":
        parser.error("two cloud processes need PostgreSQL (SQLite is one writer)")
    steps = [int(n) for n in args.tills.split(",")]
    home = Path(tempfile.mkdtemp(prefix="fleet-"))
    url = f"sqlite:///{home}/cloud.db" if args.db == "sqlite" else await _pg_database()
    ports = [free_port() for _ in range(args.procs)]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    tills = await provision(url, max(steps), args.businesses, bases, args.cards)
    procs = []
    for port in ports:
        config = home / f"cloud-{port}.toml"
        config.write_text(f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "{url}"\n')
        procs.append(spawn(["-m", "agent.cli", "cloud", "--config", str(config)]))
    try:
        for base in bases:
            await wait_ready(base + "/health")
        pids = [p for proc in procs for p in tree_pids(proc.pid)]
        empty_us = await empty_anchor(3000, args.connections)
        floor_us = await empty_anchor(3000, args.connections, url) if args.db != "sqlite" else None
        batch_us = await batch_anchor(bases[0], tills[0], 6, pids)
        rows, verdict = [], "every step held"
        for n in steps:
            pids = [p for proc in procs for p in tree_pids(proc.pid)]
            print(f"step: {n} tills, cloud pids {pids}", file=sys.stderr, flush=True)
            step, wall, cloud_cpu, own = await run_step(
                tills[:n], args.seconds, args.interval, args.connections, pids, args.pull_interval
            )
            sync_p99 = pct(step.latencies["sync"], 0.99)
            per_req = cloud_cpu / max(1, step.requests) * 1e6
            per_ev = cloud_cpu / max(1, step.events) * 1e6
            rows.append(
                [
                    n,
                    f"{step.events / wall:,.0f}",
                    f"{step.requests / wall:,.0f}",
                    *(
                        f"{pct(step.latencies[k], 0.5):.1f} / {pct(step.latencies[k], 0.99):.1f}"
                        for k in ("sync", "state", "claim")
                    ),
                    f"{step.not_modified / max(1, len(step.latencies['state'])):.0%}",
                    sum(step.errors.values()),
                    f"{per_req:,.0f}",
                    f"{per_ev:,.0f}",
                    f"{per_req / empty_us:.1f}x",
                    f"{per_req / floor_us:.1f}x" if floor_us else "n/a",
                    f"{per_ev / batch_us:.1f}x",
                    f"{cloud_cpu / wall:.2f}",
                    f"{own / wall:.2f}",
                ]
            )
            if step.errors:
                print("errors:", dict(step.errors), file=sys.stderr)
            if step.events != step.applied:
                print(
                    f"{n} tills: {step.events} events sent, {step.applied} applied", file=sys.stderr
                )
            if sync_p99 > P99_LIMIT_MS or step.errors:
                errors = sum(step.errors.values())
                verdict = f"bent at {n} tills (sync p99 {sync_p99:.0f} ms, {errors} errors)"
                break
        print(
            f"{args.db}, {args.procs} cloud process(es), {args.businesses} businesses, one batch "
            f"of 1-3 events per till every {args.interval:.0f} s, a state pull every "
            f"{args.pull_interval:.0f} s, {args.seconds:.0f} s a step; "
            f"{verdict}"
        )
        print(
            f"anchors, same run: empty aiohttp handler {empty_us:,.0f} µs CPU a request; "
            + (
                f"floor (cached key check + one PostgreSQL insert committed) {floor_us:,.0f} µs "
                f"CPU a request ({floor_us / empty_us:.1f}x the empty handler); "
                if floor_us
                else ""
            )
            + f"this cloud with 500-event batches {batch_us:,.1f} µs CPU an event\n"
        )
        print(
            table(
                [
                    "tills",
                    "events/s",
                    "requests/s",
                    "sync p50/p99 ms",
                    "state p50/p99 ms",
                    "claim p50/p99 ms",
                    "state 304s",
                    "errors",
                    "cloud µs CPU/request",
                    "cloud µs CPU/event",
                    "request / empty handler",
                    "request / floor",
                    "event / 500-batch event",
                    "cloud cores",
                    "client cores",
                ],
                rows,
            )
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        if args.db == "postgresql":
            await _drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
