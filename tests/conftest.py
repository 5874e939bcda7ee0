"""Shared fixtures: free ports, a fresh PostgreSQL database per test, the hand-moved clock,
subprocess helpers."""

import asyncio
import inspect
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from blockbuster import BlockBuster

from tests.clock import Clock

PG_ADMIN_DSN = os.environ.get("STAMPEDGE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
# CI (or STAMPEDGE_REQUIRE_PG=1): a missing PostgreSQL is then an error, never a skip.
REQUIRE_PG = any(os.environ.get(v, "") not in ("", "0") for v in ("STAMPEDGE_REQUIRE_PG", "CI"))
RUN_ID = uuid.uuid4().hex[:8]
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _pg_available() -> str | None:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()
        return None
    except (TimeoutError, OSError, ImportError) as err:
        return str(err)
    except Exception as err:
        return str(err)


_pg_counter = 0


@pytest.fixture
async def fresh_pg_dsn() -> AsyncIterator[str]:
    """The DSN of a brand-new, empty PostgreSQL database, dropped after the test."""
    global _pg_counter
    problem = await _pg_available()
    if problem is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (STAMPEDGE_REQUIRE_PG) but unusable: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")
    import asyncpg

    _pg_counter += 1
    name = f"stampedge_t_{RUN_ID}_{os.getpid()}_{_pg_counter}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand, at ``tests.clock.START``."""
    return Clock()


@pytest.fixture
def tmp_data(tmp_path: Path) -> Iterator[Path]:
    """A data directory on a real file system for SQLite files."""
    d = tmp_path / "data"
    d.mkdir()
    yield d


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save screenshots and receipts for people to look at."""
    d = REPO / "tests" / "artifacts"
    d.mkdir(parents=True, exist_ok=True)
    return d


CHROMIUM = os.environ.get("STAMPEDGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if REQUIRE_PG:  # CI installs chromium; its absence there is an error
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True}


# Far above scheduling noise on a loaded CI box, below a blocking device call; blocking calls
# are caught by the blockbuster guard below, this catches CPU work left on the loop (QR drawing
# and receipt rendering run in threads).
SLOW_CALLBACK_S = 0.5


class _SlowCallbacks(logging.Handler):
    """Collects asyncio's debug-mode "Executing ... took N seconds" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        # The test's own coroutine may do slow work (decoding an image); only the product's
        # callbacks count.
        if " took " in msg and "coro=<test_" not in msg:
            self.seen.append(msg)


@asynccontextmanager
async def no_blocking_calls() -> AsyncIterator[None]:
    """Run the loop in debug mode; a callback that holds it longer than ``SLOW_CALLBACK_S``
    (a blocking call: a device, the profile database, QR drawing) fails the test."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_S
    watch = _SlowCallbacks()
    logging.getLogger("asyncio").addHandler(watch)
    try:
        yield
    finally:
        loop.set_debug(False)
        logging.getLogger("asyncio").removeHandler(watch)
    assert not watch.seen, f"the event loop was blocked: {watch.seen}"


# The code whose calls the guard below watches: a blocking call made (directly or through a
# library) from these packages while the event loop runs fails the test. Test code and fixtures
# are not watched: writing a config file or starting a subprocess in a test is setup, not product.
PRODUCT_PACKAGES = ["agent", "drivers", "printers", "sync", "config"]
ALLOW_BLOCKING = "allow_blocking"


# Blocking calls the guard lets pass, each with why. Keep this short: a new entry is a finding
# to fix, not a place to park it.
KNOWN_BLOCKING: list[tuple[str, tuple[str, set[str]]]] = [
    # A module's first import (a lazy import inside a handler or a test) runs its top level
    # once; multiprocessing's reads the working directory.
    ("*", ("<frozen importlib._bootstrap>", {"_find_and_load"})),
    # asyncpg looks for ~/.pgpass and the client certificates under ~/.postgresql with os.stat
    # and reads them on the loop when it connects (a library's choice, once per new
    # connection; the pool keeps them).
    ("*", ("asyncpg/connect_utils.py", {"_parse_connect_dsn_and_args"})),
    # ZoneInfo reads a zone's file once and caches it, like an import (the agent's and the
    # cloud's branch time zones, read at start-up).
    ("os.stat", ("zoneinfo/_tzpath.py", {"find_tzfile"})),
    ("io.BufferedReader.read", ("zoneinfo/_common.py", {"load_data"})),
    # By design (agent/db/writer.py, run_group's docstring): a group's transaction is staged on
    # the loop with busy_timeout 0 (BEGIN IMMEDIATE never waits; a locked database sends the
    # group to the writer's thread) and only COMMIT, the fsync, goes to the thread.
    *(
        (f"sqlite3.{kind}.{method}", ("agent/db/writer.py", {"run_group"}))
        for kind in ("Connection", "Cursor")
        for method in ("execute", "executemany", "fetchone", "fetchall")
        if not (kind == "Connection" and method.startswith("fetch"))
    ),
    ("sqlite3.Connection.rollback", ("agent/db/writer.py", {"run_group"})),
    # `stampedge queue ...` runs on its own short-lived loop in the CLI, which serves nothing
    # else: its check that the database exists may stat the disk there.
    ("os.stat", ("agent/queue_cli.py", {"run_queue_command"})),
]


def pytest_configure(config: pytest.Config) -> None:
    """Register this conftest's marker (the run uses ``--strict-markers``)."""
    config.addinivalue_line(
        "markers",
        f"{ALLOW_BLOCKING}(reason): this async test may block the event loop (say why); "
        "turns off the autouse blockbuster guard for it",
    )


@pytest.fixture(autouse=True)
def blocking_guard(request: pytest.FixtureRequest) -> Iterator[BlockBuster | None]:
    """For every async test: a blocking call (file or socket I/O, ``time.sleep``, ``sqlite3``,
    a held lock) made from product code on the event loop's thread raises ``BlockingError``.

    Calls from worker threads (``asyncio.to_thread``, aiosqlite's thread, the printers' and the
    cloud's workers) are not on the loop and pass. An async test that must block says so with
    ``@pytest.mark.allow_blocking("why")``. Sync tests run no loop and are not guarded.
    """
    fn = getattr(request.node, "function", None)
    if fn is None or not inspect.iscoroutinefunction(inspect.unwrap(fn)):
        yield None
        return
    if request.node.get_closest_marker(ALLOW_BLOCKING) is not None:
        yield None
        return
    guard = BlockBuster(PRODUCT_PACKAGES)
    for func, (filename, functions) in KNOWN_BLOCKING:
        for name in guard.functions if func == "*" else [func]:
            guard.functions[name].can_block_in(filename, functions)
    guard.activate()
    try:
        yield guard
    finally:
        guard.deactivate()
