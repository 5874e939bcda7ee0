"""``GET /v1/customers/{id}/export`` and ``DELETE /v1/customers/{id}`` (admin key): a customer's
data-protection requests, answered by the shop owner."""

from aiohttp import web

from sync.cloud.errors import NotFound
from sync.cloud.http import STORE, int_param, now, principal
from sync.web.http_util import json_answer


def _customer_id(request: web.Request) -> int:
    text = request.match_info["id"]
    found = int_param(text, "id") if text.isdigit() else None
    if found is None or not 1 <= found < 2**62:
        raise NotFound("no such customer in this business", code="unknown_customer", field="id")
    return found


async def get_export(request: web.Request) -> web.Response:
    """``GET /v1/customers/{id}/export``: everything kept about the customer, as JSON."""
    who = await principal(request, need="admin")
    out = await request.app[STORE].export_customer(who, _customer_id(request), now(request))
    return json_answer(out)


async def delete_customer(request: web.Request) -> web.Response:
    """``DELETE /v1/customers/{id}``: erase the customer's personal data here and, through the
    sync state, at every till; the shop's figures stay. Again: the same answer."""
    who = await principal(request, need="admin")
    out = await request.app[STORE].erase_customer(
        who, _customer_id(request), now(request), requested_by="admin_key"
    )
    return json_answer(out)


def add_privacy_routes(app: web.Application) -> None:
    """Register the export and erasure routes."""
    app.router.add_get("/v1/customers/{id}/export", get_export)
    app.router.add_delete("/v1/customers/{id}", delete_customer)
