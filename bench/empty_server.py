"""The HTTP ceiling: a bare aiohttp app whose handler reads the body and does nothing else.

``empty_server.py PORT``: the empty handler. ``empty_server.py PORT --floor DSN``: the least any
small sync request must do, on PostgreSQL: the same app whose handler also checks the bearer
key against an in-memory cache (its SHA-256 in a dict, as ``key_cache.py`` does), reads the
JSON body with orjson and inserts one row in one transaction (an autocommit ``INSERT``: one
round trip and one commit through an asyncpg pool without its reset query), then answers JSON.
``bench/fleet.py`` measures both beside the cloud in the same run.
"""

import hashlib
import sys
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import orjson
from aiohttp import web

FLOOR_KEY = "sk_1_floor"  # the one key the floor's cache knows
POOL = web.AppKey("pool", asyncpg.Pool)
KNOWN = {hashlib.sha256(FLOOR_KEY.encode()).hexdigest(): 1}


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True}, status=201)


async def floor(request: web.Request) -> web.Response:
    """A cached key check, the body read, one insert committed, a JSON answer."""
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    device = KNOWN.get(hashlib.sha256(key.encode()).hexdigest())
    if device is None:
        return web.json_response({"error": "unknown key"}, status=401)
    body = orjson.loads(await request.read())
    await request.app[POOL].execute(
        "INSERT INTO floor_events (device_id, body) VALUES ($1, $2)",
        device,
        orjson.dumps(body).decode(),
    )
    return web.Response(
        body=orjson.dumps({"ok": True}), status=201, content_type="application/json"
    )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """No reset query on release (the cloud's pool sends none either)."""


def main() -> None:
    app = web.Application()
    app.router.add_get("/health", health)
    if len(sys.argv) > 3 and sys.argv[2] == "--floor":
        dsn = sys.argv[3]

        async def pool(app: web.Application) -> AsyncIterator[None]:
            app[POOL] = await asyncpg.create_pool(dsn, min_size=2, max_size=10, reset=_keep_session)
            await app[POOL].execute(
                "CREATE TABLE IF NOT EXISTS floor_events "
                "(id BIGSERIAL PRIMARY KEY, device_id BIGINT NOT NULL, body TEXT NOT NULL)"
            )
            yield
            await app[POOL].close()

        app.cleanup_ctx.append(pool)
        app.router.add_post("/v1/orders", floor)
    else:
        app.router.add_post("/v1/orders", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
