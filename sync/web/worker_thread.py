"""One thread that runs jobs in the order they were queued, for one event loop: the agent's
outbox writer and the cloud's SQLite connections each own one.

A plain thread and a ``SimpleQueue``: a hand-off costs far less of the loop's time than
``ThreadPoolExecutor.submit``, and it happens once per group commit or database step. A job is
queued *at once* by ``submit`` (not when a coroutine first runs), so a caller can queue reads
and then writes behind them without waiting in between.
"""

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class WorkerThread:
    """A named daemon thread running ``fn(*args)`` jobs one after another."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> "asyncio.Future[T]":
        """Queue ``fn(*args)`` now, behind everything queued before; its outcome later."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, args, loop, fut))
        return fut

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the thread; its result or exception comes back here."""
        return await self.submit(fn, *args)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    async def close(self) -> None:
        """Let queued jobs finish, then end the thread."""
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    def _main(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, loop, fut = job
            try:
                result = fn(*args)
            except BaseException as err:  # noqa: BLE001 - handed to the awaiting task
                loop.call_soon_threadsafe(_settle, fut, None, err)
            else:
                loop.call_soon_threadsafe(_settle, fut, result, None)


def _settle(fut: "asyncio.Future[Any]", result: Any, err: BaseException | None) -> None:
    """Hand the thread's result or exception to the awaiting task (on the loop's thread); a
    cancelled waiter is left alone."""
    if fut.cancelled():
        return
    if err is not None:
        fut.set_exception(err)
    else:
        fut.set_result(result)
