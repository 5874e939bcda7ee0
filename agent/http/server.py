"""Running the agent's app on its configured address until SIGINT or SIGTERM."""

import asyncio
import gc
import logging
import signal

from aiohttp import web

from agent.http.app import build_app
from config import AgentSettings

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


async def run_agent(settings: AgentSettings) -> None:
    """Serve the agent until stopped."""
    runner = await serve(
        build_app(settings), settings.agent.host, settings.agent.port, what="agent"
    )
    # What is imported and opened by now (aiohttp, pydantic's schemas, the database) lives as
    # long as the process: frozen out of the cyclic collector, whose full passes would walk it
    # again and again under a lunch rush.
    gc.collect()
    gc.freeze()
    try:
        await wait_for_stop()
    finally:
        await runner.cleanup()
