"""Serving an aiohttp app on an address, and waiting for SIGINT or SIGTERM to stop it.

Shared by the agent (``agent.http.server``), the cloud store (``sync.cloud.cli``) and the demo.
"""

import asyncio
import logging
import signal

from aiohttp import web

log = logging.getLogger(__name__)


async def serve(app: web.Application, host: str, port: int, *, what: str) -> web.AppRunner:
    """Start ``app`` on ``host:port``; returns the runner to clean up."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    log.info("%s listening on http://%s:%d", what, host, port)
    return runner


async def wait_for_stop() -> None:
    """Return when SIGINT or SIGTERM arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
