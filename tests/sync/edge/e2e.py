"""End-to-end harness: real ``stampedge agent`` processes, a cloud process, the fault proxy.

Every process is an ``asyncio`` subprocess with its log in the test's directory (printed when a
test fails: see ``Proc.tail``). Waiting is by polling the processes' own HTTP answers with a
generous guard that only exists so a broken test cannot hang the suite.
"""

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import REPO, free_port

STAMPEDGE = str(Path(sys.executable).with_name("stampedge"))
GUARD_S = 120.0


async def poll(cond: Callable[[], Awaitable[bool]], what: str, guard_s: float = GUARD_S) -> None:
    """Poll ``cond`` until true; fail with ``what`` if the guard runs out."""
    loop = asyncio.get_running_loop()
    end = loop.time() + guard_s
    while not await cond():
        if loop.time() > end:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.05)


class Proc:
    """One subprocess with its output in ``log``."""

    def __init__(self, name: str, args: Sequence[str], log: Path) -> None:
        self.name = name
        self.args = list(args)
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as fh:
            fh.write(f"--- start {' '.join(self.args)}\n".encode())
            self.proc = await asyncio.create_subprocess_exec(
                *self.args, stdout=fh, stderr=fh, env=env, cwd=str(self.log.parent)
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 15 s)."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill()

    def tail(self, n: int = 40) -> str:
        """The last lines of the log."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


async def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    """GET ``url`` and decode JSON (raises on connection trouble or non-2xx)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s,
        s.get(url, headers=headers) as r,
    ):
        r.raise_for_status()
        return await r.json()


async def answers(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        await get_json(url)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False
    return True


class AgentProc(Proc):
    """``stampedge agent --config agent.toml`` in its own directory."""

    def __init__(self, home: Path, cloud: dict[str, Any], agent: dict[str, Any] | None = None):
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        sections: dict[str, dict[str, Any]] = {
            "agent": {
                "listen": f"127.0.0.1:{self.port}",
                "data_dir": str(home / "data"),
                "mode": "receipt_qr",
                **(agent or {}),
            },
            "cloud": {
                "timeout_s": 3.0,
                "sync_interval_s": 0.5,
                "max_backoff_s": 1.0,
                **cloud,
            },
            "printer": {"kind": "none"},
        }
        (home / "agent.toml").write_text(to_toml(sections))
        super().__init__(
            "agent", [STAMPEDGE, "agent", "--config", str(home / "agent.toml")], home / "agent.log"
        )

    async def start(self) -> None:
        await super().start()
        await poll(self._up, f"agent on {self.url} to answer /health", 60)

    async def _up(self) -> bool:
        if not self.running:
            raise AssertionError(f"agent exited:\n{self.tail()}")
        return await answers(self.url + "/health")

    async def health(self) -> Any:
        return await get_json(self.url + "/health")

    async def post_orders(self, bodies: Sequence[dict[str, Any]], clients: int = 16) -> list[str]:
        """POST every body; the ``order_id``s that got a 2xx (a failed one raises)."""
        ok: list[str] = []
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for b in bodies:
            queue.put_nowait(b)

        async def worker(s: aiohttp.ClientSession) -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with s.post(self.url + "/v1/orders", json=body) as r:
                    text = await r.text()
                    if not 200 <= r.status < 300:
                        raise AssertionError(f"order {body['order_id']}: {r.status} {text}")
                    ok.append(body["order_id"])

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
            await asyncio.gather(*(worker(s) for _ in range(clients)))
        return ok

    async def wait_drained(self, guard_s: float = GUARD_S) -> Any:
        """Wait until nothing is pending or in flight; the final ``/health``."""
        last: dict[str, Any] = {}

        async def drained() -> bool:
            nonlocal last
            last = await self.health()
            o = last["outbox"]
            return bool(o["pending"] == 0 and o["sent"] == 0)

        try:
            await poll(drained, "the agent's outbox to drain", guard_s)
        except AssertionError as err:
            raise AssertionError(f"{err}: {json.dumps(last)}\n{self.tail()}") from err
        return last


ORDER_TYPES = ("order.stamped", "order.recorded", "receipt_qr.issued")


class RealCloudProc(Proc):
    """``stampedge cloud --config cloud.toml`` on SQLite or PostgreSQL, provisioned by its CLI."""

    def __init__(self, home: Path, port: int, database: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.port = port
        self.database = database
        self.url = f"http://127.0.0.1:{port}"
        self.config = home / "cloud.toml"
        self.config.write_text(
            to_toml(
                {
                    "cloud": {
                        "listen": f"127.0.0.1:{port}",
                        "database": database,
                        "public_url": self.url,
                        "max_body_bytes": 16 * 1024 * 1024,
                    }
                }
            )
        )
        args = [STAMPEDGE, "cloud", "--config", str(self.config)]
        super().__init__("cloud", args, home / "cloud.log")

    async def init(self, business: str = "Shop", branch: str = "Main") -> dict[str, Any]:
        """``stampedge cloud init``: business, branch (per_order, 1 stamp) and a device."""
        proc = await asyncio.create_subprocess_exec(
            STAMPEDGE, "cloud", "init", "--config", str(self.config), "--business", business,
            "--branch", branch, "--rule", "per_order",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise AssertionError(f"cloud init failed: {err.decode()}")
        result: dict[str, Any] = json.loads(out)
        return result

    async def start(self) -> None:
        await super().start()

        async def up() -> bool:
            if not self.running:
                raise AssertionError(f"cloud exited:\n{self.tail()}")
            return await answers(self.url + "/health")

        await poll(up, "the cloud to answer /health", 60)

    async def admin_post(self, admin_key: str, path: str, body: dict[str, Any]) -> Any:
        """POST as the business's admin; the JSON answer."""
        headers = {"Authorization": f"Bearer {admin_key}"}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s,
            s.post(self.url + path, json=body, headers=headers) as r,
        ):
            if r.status >= 300:
                raise AssertionError(f"POST {path}: {r.status} {await r.text()}")
            return await r.json()

    async def stats(self, key: str, branch_id: int) -> Any:
        """``GET /v1/stats`` for the branch (totals of the last week)."""
        return await get_json(
            f"{self.url}/v1/stats?branch={branch_id}", {"Authorization": f"Bearer {key}"}
        )

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the cloud's own database."""
        if self.database.startswith("sqlite:///"):
            path = self.database.removeprefix("sqlite:///")

            def run() -> list[tuple[Any, ...]]:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
                try:
                    return [tuple(r) for r in conn.execute(sql).fetchall()]
                finally:
                    conn.close()

            return await asyncio.to_thread(run)
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(self.database)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def ledger_order_ids(self, branch_id: int | None = None) -> list[str]:
        """The order id of every applied order event (as many times as applied)."""
        where = f" AND branch_id = {int(branch_id)}" if branch_id is not None else ""
        types = ", ".join(f"'{t}'" for t in ORDER_TYPES)
        rows = await self.query(f"SELECT payload FROM events WHERE type IN ({types}){where}")
        return [json.loads(r[0])["order_id"] for r in rows]

    async def orders_table(self, branch_id: int | None = None) -> list[str]:
        """The cloud's ``orders`` rows (one per check it recorded)."""
        where = f" WHERE branch_id = {int(branch_id)}" if branch_id is not None else ""
        return [r[0] for r in await self.query(f"SELECT order_id FROM orders{where}")]


def to_toml(sections: dict[str, dict[str, Any]]) -> str:
    """A small TOML writer for flat sections of str/int/float/bool values."""
    out: list[str] = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        for k, v in values.items():
            if isinstance(v, bool):
                out.append(f"{k} = {'true' if v else 'false'}")
            elif isinstance(v, int | float):
                out.append(f"{k} = {v}")
            else:
                out.append(f"{k} = {json.dumps(str(v))}")
        out.append("")
    return "\n".join(out)


def orders(prefix: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    """``n`` order bodies ``<prefix>-<i>`` of EUR 25."""
    return [{"order_id": f"{prefix}-{i}", "total": "25.00", **extra} for i in range(n)]


def exactly_once(ok: Sequence[str], ledger: Sequence[str]) -> None:
    """The orders answered 2xx are the ledger, each once (with a readable failure)."""
    dupes = sorted(o for o, n in Counter(ledger).items() if n > 1)
    missing = sorted(set(ok) - set(ledger))
    extra = sorted(set(ledger) - set(ok))
    assert not dupes, f"applied more than once: {dupes[:10]}"
    assert not missing, f"answered 2xx but not in the cloud: {len(missing)} e.g. {missing[:10]}"
    assert not extra, f"in the cloud but never answered 2xx: {extra[:10]}"
    assert len(ledger) == len(ok)
