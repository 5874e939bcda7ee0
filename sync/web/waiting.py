"""Waiting for an ``asyncio.Event`` with a time limit, in a way that can always be cancelled."""

import asyncio


async def wait_set(event: asyncio.Event, timeout_s: float | None) -> bool:
    """Wait until ``event`` is set, at most ``timeout_s`` seconds (``None``: no limit); True if
    it was set.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives just as the
    event is set (CPython gh-86296), so a background task stopped at shutdown while an order
    came in would run on, and the shutdown would wait for it forever.
    """
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True
