"""Which recorded check an order id names: POS check numbers are unique per till only.

Two tills of one agent may both close check ``1001`` (issue #14), so the agent keys a check by
its till and its id (``order_key``). The routes that name a check by id (``GET``, void,
reprint, its QR) take an optional ``?till=``; without it the id must name one check.
"""

import sqlite3

from aiohttp import web

from agent.db import AgentDb
from agent.db.retention import missing_order
from agent.http.errors import Conflict, InvalidInput, NotFound
from sync.contract.limits import is_till

TILL_QUERY = {
    "till": {
        "required": False,
        "description": "The till that recorded the check (needed when two tills used its id)",
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    }
}
"""The OpenAPI query parameter of every route that names a check by id."""


def order_key(order_id: str, till: str | None) -> str:
    """The check's key in ``orders.order_key``: the bare id for a check without a till (what
    every check was keyed by before), else the till, a unit separator and the id (a till never
    holds a control character, ``limits.is_till``, so no two checks share a key)."""
    return order_id if till is None else f"{till}\x1f{order_id}"


def till_param(request: web.Request) -> str | None:
    """The request's ``?till=``, checked like a check's ``till`` (422 otherwise)."""
    till = request.query.get("till")
    if till is None:
        return None
    if not is_till(till):
        raise InvalidInput("till must be 1 to 64 characters, no control character", field="till")
    return till


async def find_order(db: AgentDb, order_id: str, till: str | None, columns: str) -> sqlite3.Row:
    """The row (``order_key``, ``till`` and ``columns``) of check ``order_id`` at ``till``; any
    till's if ``till`` is None and only one till used the id. ``NotFound``, or ``Conflict``
    ``ambiguous_order`` when two tills used the id and the request did not say which."""
    if till is not None:
        sql = f"SELECT order_key, till, {columns} FROM orders WHERE order_key = ?"  # noqa: S608
        rows = await db.fetchall(sql, (order_key(order_id, till),))
    else:
        sql = f"SELECT order_key, till, {columns} FROM orders WHERE order_id = ? LIMIT 3"  # noqa: S608
        rows = await db.fetchall(sql, (order_id,))
    if not rows and till is None:
        await missing_order(db, order_id)  # 410 if retention pruned it, else 404
    if not rows:
        where = f" at till {till}"
        raise NotFound(
            f"no order {order_id}{where} was recorded by this agent",
            field="order_id",
            code="unknown_order",
        )
    if len(rows) > 1:
        raise Conflict(
            f"tills {', '.join(sorted(str(r['till']) for r in rows))} each recorded a check "
            f"{order_id}: say which with ?till=",
            field="till",
            code="ambiguous_order",
        )
    return rows[0]
