"""Keeping one scanner source alive: open it, hand its lines on, reopen with backoff when it
goes away (USB unplugged, connection dropped), and say how it is doing for ``/health``.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from drivers.errors import ScannerConfigError, ScannerUnavailable
from drivers.framing import RawLine
from drivers.sources import LineSource

log = logging.getLogger(__name__)
State = Literal["starting", "ok", "reconnecting", "error", "stopped"]
Sink = Callable[[RawLine], Awaitable[None]]


@dataclass
class Backoff:
    """Delays between reopen attempts: ``initial_s``, doubling, at most ``max_s``."""

    initial_s: float = 0.1
    max_s: float = 2.0
    _next: float = 0.0

    def next_delay(self) -> float:
        """The delay before the next attempt (grows until ``reset``)."""
        delay = self._next or self.initial_s
        self._next = min(delay * 2, self.max_s)
        return delay

    def reset(self) -> None:
        """The device opened: start from the shortest delay next time."""
        self._next = 0.0


class ScannerRunner:
    """Runs one source in a task; ``sink`` gets every line, in order, one at a time.

    A line is handed on before the next is read, so a scan's outcome never depends on what the
    scanner sends after it; bytes arriving meanwhile wait in the OS and stream buffers.
    """

    def __init__(
        self, name: str, source: LineSource, sink: Sink, *, backoff: Backoff | None = None
    ) -> None:
        self.name = name
        self.source = source
        self.sink = sink
        self.backoff = backoff or Backoff()
        self.state: State = "starting"
        self.detail = source.describe()
        self.opens = 0  # successful opens: 1 + reconnections
        self.lines = 0
        self._task: asyncio.Task[None] | None = None
        self.opened = asyncio.Event()  # set while the device is open (tests and benches wait)

    def start(self) -> None:
        """Start reading in the background."""
        self._task = asyncio.create_task(self._run(), name=f"scanner {self.name}")
        self._task.add_done_callback(self._ended)

    async def stop(self) -> None:
        """Stop reading and release the device."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise  # we ourselves were cancelled, not only the task
        await self.source.close()
        self.state, self.detail = "stopped", self.source.describe()

    async def _run(self) -> None:
        while True:
            try:
                await self.source.open()
            except ScannerConfigError as err:
                self._set("error", str(err))
                log.error("scanner %s cannot work: %s", self.name, err)
                return
            except ScannerUnavailable as err:
                await self._wait_retry(err)
                continue
            self.opens += 1
            self.backoff.reset()
            self._set("ok", self.source.describe())
            self.opened.set()
            try:
                await self._pump()
            except ScannerUnavailable as err:
                log.warning("scanner %s: %s", self.name, err)
                self.opened.clear()
                await self.source.close()
                await self._wait_retry(err)

    async def _pump(self) -> None:
        while True:
            line = await self.source.next_line()
            self.lines += 1
            await self.sink(line)
            # A flood of lines already buffered (or rejected without I/O) never suspends on its
            # own; give the loop a turn per line so the POS is still answered meanwhile.
            await asyncio.sleep(0)

    async def _wait_retry(self, err: ScannerUnavailable) -> None:
        delay = self.backoff.next_delay()
        self._set("reconnecting", f"{err}; retrying in {delay:.1f} s")
        await asyncio.sleep(delay)

    def _set(self, state: State, detail: str) -> None:
        self.state, self.detail = state, detail

    def _ended(self, task: "asyncio.Task[None]") -> None:
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:  # a bug, not a device problem: say so on /health, keep the agent up
            self._set("error", f"stopped by an unexpected error: {err!r}")
            log.error("scanner %s stopped", self.name, exc_info=err)

    def health(self) -> dict[str, str]:
        """``state`` (ok, reconnecting, error, starting, stopped) and ``detail``."""
        return {"state": self.state, "detail": self.detail}
