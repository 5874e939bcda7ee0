"""The printer channel inside the agent: print jobs, their routes and the printer worker.

Placeholder until the receipt-printing issue lands: no printer, no routes.
"""

from aiohttp import web


def install_printing(app: web.Application) -> None:
    """Add the print routes and the printer worker's lifecycle to the agent's app."""
    del app
