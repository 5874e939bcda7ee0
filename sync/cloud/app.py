"""The cloud store's aiohttp app: routes, the store's lifecycle, health, metrics, OpenAPI."""

import asyncio
import functools
import json
import random
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from config import ConfigError
from config.cloud import CloudSettings
from sync.cloud import admin, claims_http, handlers, identity_http, rewards_http
from sync.cloud.api_doc import openapi_document
from sync.cloud.backoffice.http import add_backoffice_routes
from sync.cloud.backoffice.pages import add_backoffice_pages
from sync.cloud.batch_reader import BatchReader
from sync.cloud.housekeeping import housekeeping_ctx
from sync.cloud.http import (
    CLOCK,
    METRICS,
    READER,
    RNG,
    SETTINGS,
    STORE,
    cloud_errors,
    refuse_unstorable,
)
from sync.cloud.metrics import CloudMetrics
from sync.cloud.pages_http import add_page_routes
from sync.cloud.poster_webhook import add_poster_routes
from sync.cloud.privacy_http import add_privacy_routes
from sync.cloud.shared_throttles import shared_throttles_ctx
from sync.cloud.store import Store, open_store
from sync.web.caching import cacheable, gzip_large_json
from sync.web.guard import GuardPolicy, install_guard
from sync.web.http_util import error_response, metrics_middleware
from sync.web.phone_metadata import load_phone_metadata
from sync.web.throttle import GUESSES, Guesses

VERSION = "0.1.0"


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def health(request: web.Request) -> web.Response:
    """``GET /health``: the database answers."""
    store = request.app[STORE]
    try:
        await store.ping()
    except (OSError, RuntimeError) as err:
        return error_response(503, "database_unavailable", f"the database does not answer: {err}")
    section = request.app[SETTINGS].cloud
    if section.database.startswith("sqlite:///"):
        folder = Path(section.database.removeprefix("sqlite:///")).parent
        try:
            free_mb = (await asyncio.to_thread(shutil.disk_usage, folder)).free // (1024 * 1024)
        except OSError:
            free_mb = None
        if free_mb is not None and free_mb < section.min_free_disk_mb:
            # a full disk answered "ok" while no claim or batch could be written
            text = f"the database's disk has {free_mb} MB free (under {section.min_free_disk_mb})"
            return error_response(503, "disk_low", text)
    return web.json_response(
        {"status": "ok", "database": store.dialect, "schema_version": store.schema_version}
    )


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format."""
    return web.Response(
        body=request.app[METRICS].render(), content_type="text/plain", charset="utf-8"
    )


async def openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the document of the routes this app serves, made once (off the
    loop: pydantic's schemas take a while) and served with its ETag."""
    wallet = request.app[SETTINGS].wallet
    apple, google = wallet.apple is not None, wallet.google is not None
    body = await asyncio.to_thread(_openapi_json, apple, google)
    return cacheable(request, body, "application/json")


@functools.cache
def _openapi_json(apple: bool, google: bool) -> bytes:
    return json.dumps(openapi_document(VERSION, apple=apple, google=google)).encode()


def build_cloud_app(
    settings: CloudSettings,
    *,
    store: Store | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] | None = None,
    reader_process: bool = False,
) -> web.Application:
    """The cloud app; opens the store from ``settings`` (and closes it) when none is given;
    ``reader_process``: event batches are read in a helper process (``batch_reader.py``)."""
    app = web.Application(
        middlewares=[gzip_large_json, cloud_errors, refuse_unstorable, metrics_middleware(METRICS)],
        client_max_size=settings.cloud.max_body_bytes,
    )
    # Names are the reverse proxy's business; own origin is the public URL (forms posted from
    # the cloud's own pages), other sites only if listed.
    install_guard(
        app,
        GuardPolicy.build(
            own_urls=[settings.cloud.public_url],
            allowed_origins=settings.cloud.allowed_origins,
        ),
    )
    app[SETTINGS] = settings
    app[GUESSES] = Guesses(forwarded_for=settings.cloud.behind_proxy)
    app[RNG] = rng or random.Random()
    app[CLOCK] = clock or _utcnow
    app[METRICS] = CloudMetrics()
    app[READER] = BatchReader()
    if reader_process:

        async def _reader_lifecycle(app: web.Application) -> AsyncIterator[None]:
            await app[READER].start()
            try:
                yield
            finally:
                await app[READER].close()

        app.cleanup_ctx.append(_reader_lifecycle)
    if store is not None:
        app[STORE] = store
        app[METRICS].watch(store.load)
    else:

        async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
            app[STORE] = await open_store(settings.cloud.database)
            app[METRICS].watch(app[STORE].load)
            try:
                yield
            finally:
                await app[STORE].close()

        app.cleanup_ctx.append(_store_lifecycle)
    app.cleanup_ctx.append(shared_throttles_ctx)  # after the store's: it listens on its db
    app.cleanup_ctx.append(housekeeping_ctx)
    app.on_startup.append(load_phone_metadata)
    r = app.router
    r.add_post("/v1/sync/events", handlers.post_events)
    r.add_get("/v1/sync/state", handlers.get_state)
    r.add_post("/v1/customers", handlers.post_customer)
    r.add_get("/v1/customers", handlers.get_customers)
    r.add_get("/v1/cards/{card_code}", handlers.get_card)
    r.add_post("/v1/stamps", handlers.post_stamps)
    r.add_post("/v1/vouchers/{code}/redeem", handlers.post_redeem)
    r.add_post("/v1/rewards/{code}/redeem", rewards_http.post_till_redeem)
    r.add_get("/v1/sync/card", rewards_http.get_card_state)
    r.add_post("/v1/claims/{token}", claims_http.post_claim)
    for prefix in ("/c", "/C"):
        r.add_get(prefix + "/{token}", claims_http.claim_page)
        r.add_post(prefix + "/{token}", claims_http.claim_page_post)
    r.add_post("/v1/branches", admin.post_branch)
    r.add_get("/v1/branches", admin.get_branches)
    r.add_put("/v1/branches/{id}/program", admin.put_program)
    r.add_post("/v1/devices", admin.post_device)
    r.add_post("/v1/admin-key", admin.post_admin_key)
    r.add_get("/v1/devices", admin.get_devices)
    r.add_delete("/v1/devices/{id}", admin.delete_device)
    r.add_get("/v1/stats", admin.get_stats)
    r.add_get("/health", health)
    r.add_get("/metrics", metrics)
    r.add_get("/openapi.json", openapi)
    add_page_routes(app)
    identity_http.add_identity_routes(app)  # after the store's lifecycle: the mail sender uses it
    if settings.wallet.apple is not None or settings.wallet.google is not None:
        _add_wallet(app, settings)
    add_backoffice_routes(app)
    add_backoffice_pages(app)
    add_poster_routes(app)
    add_privacy_routes(app)
    return app


def _add_wallet(app: web.Application, settings: CloudSettings) -> None:
    """The wallets, imported only when configured: their libraries are the ``wallet`` extra."""
    try:
        from sync.cloud.wallet.setup import add_wallet
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"[wallet] needs the wallet extra (no module {err.name}): "
            "pip install 'stampedge[wallet]'"
        ) from None
    add_wallet(app, settings)
