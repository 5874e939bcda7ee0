"""Running the agent's app on its configured address until SIGINT or SIGTERM."""

import gc

from agent.http.app import build_app
from agent.http.tls import agent_context
from config import AgentSettings
from sync.web import sd_notify
from sync.web.serve import serve, wait_for_stop


async def run_agent(settings: AgentSettings) -> None:
    """Serve the agent until stopped."""
    ssl_context = agent_context(settings.agent.tls_cert, settings.agent.tls_key)
    runner = await serve(
        build_app(settings),
        settings.agent.host,
        settings.agent.port,
        what="agent",
        ssl_context=ssl_context,
    )
    # What is imported and opened by now (aiohttp, pydantic's schemas, the database) lives as
    # long as the process: frozen out of the cyclic collector, whose full passes would walk it
    # again and again under a lunch rush.
    gc.collect()
    gc.freeze()
    sd_notify.ready(f"listening on {settings.agent.listen}")
    try:
        await wait_for_stop()
    finally:
        sd_notify.stopping()
        await runner.cleanup()
