"""The agent's link to the cloud store: the uploader and state pull, started with the app.

Placeholder until the offline-sync issue lands: events wait in the outbox.
"""

from aiohttp import web


def install_sync(app: web.Application) -> None:
    """Add the uploader's lifecycle to the agent's app."""
    del app
