"""Wiring the wallet into the cloud app: credentials checked, routes, the push worker's
lifecycle, and a middleware that wakes it when a request changed something."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from config.cloud import CloudSettings
from sync.cloud.http import CLOCK, STORE
from sync.cloud.wallet import passes_db
from sync.cloud.wallet.apns import ApnsClient
from sync.cloud.wallet.credentials import load_apple, load_google
from sync.cloud.wallet.google_api import GoogleWalletApi
from sync.cloud.wallet.keys import WALLET
from sync.cloud.wallet.pusher import Pusher
from sync.cloud.wallet.routes import add_wallet_routes
from sync.cloud.wallet.service import Wallet, now_us

log = logging.getLogger(__name__)
_REDEEM = "/v1/vouchers/{code}/redeem"
_PROGRAM = "/v1/branches/{id}/program"


@web.middleware
async def wallet_changes(request: web.Request, handler: Any) -> web.StreamResponse:
    """After a request that changed something, the push worker looks for changed cards; a
    redeem or a program change (which do not renumber cards) queue their passes here."""
    resp: web.StreamResponse = await handler(request)
    if request.method in ("GET", "HEAD", "OPTIONS") or resp.status >= 400:
        return resp
    pusher = request.app[WALLET].pusher
    if pusher is None:
        return resp
    route = request.match_info.route.resource
    canonical = route.canonical if route is not None else ""
    db = request.app[STORE].db
    due = now_us() + pusher.delay_us
    if canonical == _REDEEM:
        found = await passes_db.pass_of_reward(db, request.match_info["code"])
        if found is not None:
            await passes_db.queue_serials(db, found.business_id, [found.serial], due)
    elif canonical == _PROGRAM and request.match_info["id"].isdigit():
        business_id = await passes_db.business_of_branch(db, int(request.match_info["id"]))
        if business_id is not None:
            await passes_db.queue_business(db, business_id, due)
    pusher.wake()
    return resp


def add_wallet(app: web.Application, settings: CloudSettings) -> None:
    """Add the configured wallets to the app. Their files are read and checked when the app
    starts (on a worker thread: the event loop never waits on the disk), where a missing,
    unreadable, mismatched or expired one raises ``WalletConfigError``, one line naming the
    setting, before anything is served. Without a ``[wallet.*]`` section nothing is added and no
    page offers a pass."""
    section = settings.wallet
    if section.apple is None and section.google is None:
        return
    wallet = Wallet(section, settings.cloud.public_url.rstrip("/"), None, None)
    app[WALLET] = wallet
    add_wallet_routes(app, apple=section.apple is not None, google=section.google is not None)
    app.middlewares.append(wallet_changes)

    async def _wallet_lifecycle(app: web.Application) -> AsyncIterator[None]:
        checked_at = datetime.now(UTC)
        apns: ApnsClient | None = None
        gapi: GoogleWalletApi | None = None
        if section.apple is not None:
            wallet.apple = await asyncio.to_thread(load_apple, section.apple, checked_at)
            apns = await asyncio.to_thread(ApnsClient, section.apple, wallet.apple)
        if section.google is not None:
            wallet.google = await asyncio.to_thread(load_google, section.google)
            gapi = GoogleWalletApi(section.google, wallet.google)
        pusher = Pusher(app[STORE], wallet, app[CLOCK], apns, gapi)
        wallet.pusher = pusher
        task = asyncio.create_task(pusher.run(), name="wallet-pusher")
        try:
            yield
        finally:
            wallet.pusher = None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if apns is not None:
                await apns.close()
            if gapi is not None:
                await gapi.close()

    app.cleanup_ctx.append(_wallet_lifecycle)
