"""Both apps load the phone numbering metadata in a thread as they start (``on_startup``), so
no first phone look-up imports it on the event loop."""

import asyncio

from aiohttp import web

from sync.contract.phones import load_metadata


async def load_phone_metadata(app: web.Application) -> None:
    """``phones.load_metadata`` off the event loop (an aiohttp ``on_startup`` handler)."""
    del app
    await asyncio.to_thread(load_metadata)
