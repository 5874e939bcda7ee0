"""The loop of a background worker that empties a durable queue (the mail outbox, the wallet
pushes): drain while there is more, then wait for a wake-up or a timer, and stay up on errors.

One home for the shape both workers had (``mail/sender.py``, ``wallet/pusher.py``). The wait is
``wait_set``, not ``asyncio.wait_for``: on Python 3.11 a wake and the shutdown's cancel in the
same moment lost the cancel, and the shutdown waited for the task forever.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sync.web.waiting import wait_set

log = logging.getLogger(__name__)


class DrainLoop:
    """Runs ``step`` (``True``: a full batch went, more may wait) until it has drained the
    queue, then sleeps until ``wake()``, the next row due (``next_due_us``, read against
    ``now_us``; at least ``min_wait_s`` away) or ``poll_s`` (work other processes queued).

    A failed step or look-up is logged, not swallowed, and the loop goes on: the queue keeps
    the work, and a database hiccup must not stop the worker for good. After a failed step it
    pauses ``error_pause_s`` (a wake-up does not shorten it) so a step that keeps failing does
    not spin.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[bool]],
        next_due_us: Callable[[], Awaitable[int | None]],
        now_us: Callable[[], int],
        *,
        poll_s: float,
        min_wait_s: float = 0.0,
        error_pause_s: float = 0.0,
    ) -> None:
        self._name = name
        self._step = step
        self._next_due_us = next_due_us
        self._now_us = now_us
        self._poll_s = poll_s
        self._min_wait_s = min_wait_s
        self._error_pause_s = error_pause_s
        self._wake = asyncio.Event()
        self.idle = False  # waiting for a wake-up or the timer (between steps)

    def wake(self) -> None:
        """Work was queued: look now."""
        self._wake.set()

    async def run(self) -> None:
        """Drain and wait, forever (until cancelled)."""
        while True:
            try:
                if await self._step():
                    continue
            except Exception:  # logged, not swallowed (see the class)
                log.exception("%s: a step failed; trying again shortly", self._name)
                await asyncio.sleep(self._error_pause_s)
            wait = await self._wait_s()
            self.idle = True
            try:
                await wait_set(self._wake, wait)
            finally:
                self.idle = False
            self._wake.clear()

    async def _wait_s(self) -> float:
        """How long to sleep: until the next row is due, ``poll_s`` at the most."""
        try:
            due = await self._next_due_us()
        except Exception:  # the same hiccup as a step's: poll again later
            log.exception("%s: could not read when work is next due", self._name)
            return self._poll_s
        if due is None:
            return self._poll_s
        return min(self._poll_s, max(self._min_wait_s, (due - self._now_us()) / 1e6))
