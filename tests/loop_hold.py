"""How long each route holds the event loop: a diagnostic, never an assertion (issue #14).

asyncio's debug mode logs every callback that runs longer than ``slow_callback_duration``;
with that at zero, every step of every task is timed. Requests are driven one at a time, so
the longest step seen while a route is driven is how long that route held the loop (the
test's own coroutine is left out). The table goes to ``tests/artifacts`` and the test's
output; the test itself asserts only what a client sees (statuses, bodies) and that every
JSON route of the app's spec was driven.
"""

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

_TOOK = re.compile(r" took (\d+(?:\.\d+)?) seconds")


class HoldRecorder(logging.Handler):
    """The longest loop step seen while each route was driven (seconds)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.current: str | None = None
        self.holds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        found = _TOOK.search(msg)
        if found is None or self.current is None or "coro=<test_" in msg:
            return
        self.holds[self.current] = max(self.holds.get(self.current, 0.0), float(found[1]))

    @contextmanager
    def route(self, name: str) -> Iterator[None]:
        """Count the loop steps from here to the end of the block as ``name``'s."""
        self.current = name
        self.holds.setdefault(name, 0.0)
        try:
            yield
        finally:
            self.current = None

    def table(self) -> str:
        """The routes, longest hold first, in milliseconds."""
        rows = sorted(self.holds.items(), key=lambda kv: -kv[1])
        width = max((len(name) for name in self.holds), default=5)
        lines = [f"{'route':<{width}}  longest loop hold (ms)"]
        lines += [f"{name:<{width}}  {1000 * s:9.1f}" for name, s in rows]
        return "\n".join(lines)


@asynccontextmanager
async def recording(save_to: Path) -> AsyncIterator[HoldRecorder]:
    """Time every loop step while the block runs; print and save the table after it."""
    loop = asyncio.get_running_loop()
    was = loop.get_debug(), loop.slow_callback_duration
    recorder = HoldRecorder()
    logger = logging.getLogger("asyncio")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # one line per loop step: kept from the test's log capture
    loop.set_debug(True)
    loop.slow_callback_duration = 0.0
    try:
        yield recorder
    finally:
        loop.set_debug(was[0])
        loop.slow_callback_duration = was[1]
        logger.removeHandler(recorder)
        logger.setLevel(level)
        logger.propagate = propagate
        text = recorder.table()
        save_to.write_text(text + "\n")
        print(f"\n{save_to.name} (a loaded machine times high; compare routes, not runs)\n{text}")
