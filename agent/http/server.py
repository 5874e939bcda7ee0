"""Running the agent's app on its configured address until SIGINT or SIGTERM."""

import gc

from agent.http.app import build_app
from config import AgentSettings
from sync.web.serve import serve, wait_for_stop


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
