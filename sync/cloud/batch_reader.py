"""Reading event batches in a helper process, so that the event loop's GIL is free for the
ledger while the next batch's JSON is read.

``intake.read_batch`` is pure Python over a 500-event body, some 6 ms a batch: more than the
ledger rules. In the cloud process the GIL is what the event loop, the ledger and the SQLite
writer's thread all wait for; read in a helper process, a batch comes back as JSON arrays
(``intake.read_packed``), which cost the loop about a quarter of that to load and unpack. The
same checks, the same results (``intake.read_batch`` and ``read_packed`` share their code).
Small bodies, and any trouble with the helper, are read right here.

The helper watches the cloud process and ends with it, however it ended: a SIGKILLed cloud
leaves no orphan behind (issue #14). It waits on a pidfd of its parent (readable once the
parent has exited); ``PR_SET_PDEATHSIG`` would fire when the parent *thread* that spawned it
ends, and the pool is made on a worker thread.
"""

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sync.cloud import intake
from sync.cloud.records import BatchKeys, Incoming, batch_keys

log = logging.getLogger(__name__)

MIN_BYTES = 32 * 1024  # below this a body is read here: the round trip would cost more


class BatchReader:
    """``intake.read_batch`` for ``POST /v1/sync/events`` bodies, in a helper process once
    ``start``-ed (in this process otherwise)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Start the helper and wait until it has imported what it needs."""
        try:
            # Off the loop: making the pool talks to multiprocessing's resource tracker, and the
            # first job spawns the process; the loop must wait on neither.
            self._pool = await asyncio.to_thread(_started_pool)
        except (OSError, BrokenProcessPool) as err:
            log.warning("batch reader process did not start (%s): reading in-process", err)

    async def read(self, raw: bytes) -> tuple[list[Incoming], BatchKeys] | None:
        """``intake.read_batch(raw)`` and the ``batch_keys`` of its events."""
        pool = self._pool
        if pool is None or len(raw) < MIN_BYTES:
            return _here(raw)
        try:
            packed = await asyncio.get_running_loop().run_in_executor(pool, intake.read_packed, raw)
        except BrokenProcessPool:
            log.warning("batch reader process stopped: reading in-process from now on")
            self._pool = None
            return _here(raw)
        return None if packed is None else intake.unpack(packed)

    async def close(self) -> None:
        """Stop the helper."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _here(raw: bytes) -> tuple[list[Incoming], BatchKeys] | None:
    items = intake.read_batch(raw)
    return None if items is None else (items, batch_keys(items))


def _started_pool() -> ProcessPoolExecutor:
    """A one-process pool whose process is up and has imported the intake (blocking)."""
    # "spawn": the cloud process runs threads (SQLite's), which a fork would copy mid-work
    pool = ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=watch_parent,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(intake.read_packed, b"{}").result()
    except BaseException:
        pool.shutdown(wait=False)
        raise
    return pool


def watch_parent(parent: int) -> None:
    """The helper's initializer: end this process when ``parent`` (the cloud) has ended."""
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    try:
        pidfd: int | None = os.pidfd_open(parent)
    except OSError:  # a kernel before Linux 5.3: ask once a second instead
        pidfd = None
    if os.getppid() == parent:  # (checked after opening: the parent may have died before)
        if pidfd is not None:
            select.select([pidfd], [], [])  # readable once the parent has exited
        else:
            while os.getppid() == parent:
                time.sleep(1.0)
    os._exit(0)  # no cleanup to run: the helper holds nothing but the batch it was reading
