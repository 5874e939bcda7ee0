"""A serial barcode scanner on a real pty, reachable at a fixed path (a symlink), as a USB
virtual COM port is at ``/dev/serial/by-id/...``: unplug it, plug it back, type into it."""

import asyncio
import os
import time
import tty
from collections.abc import Awaitable, Callable
from pathlib import Path


class PtyScanner:
    """The device side of a pty pair; the agent opens ``link`` like a serial port."""

    def __init__(self, link: Path, suffix: bytes = b"\r") -> None:
        self.link = link
        self.suffix = suffix
        self.master = -1
        self.slave = -1
        self.plug()

    @property
    def plugged(self) -> bool:
        return self.master >= 0

    def plug(self) -> None:
        """Create a new pty and point ``link`` at it (a new device node, like a replug)."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # a serial line: no echo, no CR/LF translation, no line editing
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        """Remove the device: the agent's reads fail and the path disappears."""
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def write_blocking(self, data: bytes) -> float:
        """Write all of ``data``; return ``perf_counter()`` right after the last byte went."""
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]
        return time.perf_counter()

    async def send(self, data: bytes) -> float:
        """Write from a thread (a full pty buffer blocks until the agent reads)."""
        return await asyncio.to_thread(self.write_blocking, data)

    async def scan(self, code: str) -> float:
        """Send one reading as the scanner would: the code and its suffix."""
        return await self.send(code.encode() + self.suffix)

    def close(self) -> None:
        if self.plugged:
            self.unplug()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, what: str = "condition"
) -> None:
    """Wait until ``check()`` holds; fail after ``timeout_s`` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
