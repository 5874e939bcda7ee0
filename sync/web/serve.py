"""Serving an aiohttp app on an address, and waiting for SIGINT or SIGTERM to stop it.

Shared by the agent (``agent.http.server``), the cloud store (``sync.cloud.cli``) and the demo.
"""

import asyncio
import logging
import signal
import ssl

from aiohttp import web

from sync.web.logs import AccessLogger, access_logger

log = logging.getLogger(__name__)


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    what: str,
    ssl_context: ssl.SSLContext | None = None,
) -> web.AppRunner:
    """Start ``app`` on ``host:port`` (HTTPS with ``ssl_context``); returns the runner."""
    runner = web.AppRunner(
        app, access_log=access_logger(), access_log_class=AccessLogger, handle_signals=False
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError:  # port in use: close what setup opened (database threads) before saying so
        await runner.cleanup()
        raise
    scheme = "https" if ssl_context is not None else "http"
    log.info("%s listening on %s://%s:%d", what, scheme, host, port)
    return runner


async def wait_for_stop() -> None:
    """Return when SIGINT or SIGTERM arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
