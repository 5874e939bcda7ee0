"""The HTTP ceiling: a bare aiohttp app whose handler reads the body and does nothing else."""

import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True}, status=201)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/orders", handle)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
