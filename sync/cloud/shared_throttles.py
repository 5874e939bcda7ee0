"""Guess throttles shared by every cloud process on one PostgreSQL database (issue #14).

Each process counts failures itself (``sync.web.throttle``); with two processes behind a load
balancer a guesser had twice the tries, and a client blocked on one was free on the other. Now
a block made in one process is sent on ``THROTTLES_CHANNEL`` (``pg_notify``, as key
revocations are: ``store/key_cache.py``) and every process listening refuses that client too,
until the block ends. The bound this gives is in SECURITY.md. On SQLite there is one process:
nothing is sent or heard.

A notification is sent from a task of its own, after the failure's answer is on its way; a
failed send is logged and the block stays local. While the listening connection is down the
process hears no blocks (each still blocks on its own count); it listens again by itself.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
from aiohttp import web

from sync.cloud.http import STORE
from sync.web.throttle import GUESSES

log = logging.getLogger(__name__)
THROTTLES_CHANNEL = "stampedge_throttles"


async def shared_throttles_ctx(app: web.Application) -> AsyncIterator[None]:
    """Share this app's blocks with the other processes on its database, while it runs (an
    aiohttp ``cleanup_ctx``, after the store's)."""
    db, guesses = app[STORE].db, app[GUESSES]
    sending: set[asyncio.Task[None]] = set()

    async def notify(text: str) -> None:
        try:
            await db.notify(THROTTLES_CHANNEL, text)
        except (asyncpg.PostgresError, OSError) as err:
            log.warning("could not share a guess block with other processes: %s", err)

    def send(text: str) -> None:
        task = asyncio.get_running_loop().create_task(notify(text))
        sending.add(task)
        task.add_done_callback(sending.discard)

    if not await db.listen(THROTTLES_CHANNEL, guesses.heard, _trusted):
        yield  # one process on this database (SQLite): nothing to share
        return
    guesses.share(send)
    try:
        yield
    finally:
        guesses.share(None)
        await asyncio.gather(*sending, return_exceptions=True)


def _trusted(listening: bool) -> None:
    # blocks heard so far stay until they end; while not listening, new ones go unheard
    if not listening:
        log.warning("not hearing other processes' guess blocks until listening again")
