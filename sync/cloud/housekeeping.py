"""The cloud's housekeeping task: retention rounds, a minute after start and then hourly
(issues #19 and #14)."""

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
from aiohttp import web

from sync.cloud.errors import StoreError
from sync.cloud.http import CLOCK, SETTINGS, STORE

log = logging.getLogger(__name__)
EVERY_S = 3600.0
FIRST_S = 60.0  # the first round waits until start-up's own work (and its load) is over


async def housekeeping_round(app: web.Application) -> int:
    """One retention round: spent and expired receipt QRs (``store.retention``), and the
    signed-out dashboard sessions that have expired anyway (``store.sessions``); rows gone."""
    days = app[SETTINGS].cloud.claim_retention_days
    now = app[CLOCK]()
    n = await app[STORE].prune_claims(now, days)
    if n:
        log.info("retention: deleted %d receipt QR(s) expired over %g day(s) ago", n, days)
    ended = await app[STORE].sweep_sessions(now)
    if ended:
        log.info("retention: forgot %d signed-out session(s) that have expired", ended)
    return n + ended


async def _run(app: web.Application) -> None:
    await asyncio.sleep(FIRST_S)
    while True:
        try:
            await housekeeping_round(app)
        except (StoreError, sqlite3.Error, asyncpg.PostgresError, OSError) as err:
            log.warning("housekeeping failed: %s", err)  # try again next round, stay up
        await asyncio.sleep(EVERY_S)


async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
    """The housekeeping task's lifecycle (an aiohttp ``cleanup_ctx``)."""
    task = asyncio.create_task(_run(app), name="cloud-housekeeping")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
