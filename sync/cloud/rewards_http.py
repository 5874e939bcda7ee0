"""Rewards at the till: a device redeems a gift or voucher once for the whole business.

``POST /v1/rewards/{code}/redeem`` (device key) takes ``{"order_id"?, "till"?}``, the check the
reward is handed over on, and answers the reward with its ``pos_product`` (the line the POS adds
at zero price). ``409 already_redeemed``, ``409 not_active`` (with ``valid_from`` in the message),
``410 expired``, ``404 unknown_reward``. Concurrent redeems of one code, through any number of
cloud processes, are serialised by the business's write lock: exactly one wins.
"""

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from sync.cloud.errors import StoreError
from sync.cloud.http import METRICS, STORE, now, principal, read_body
from sync.contract.events import OrderId
from sync.web.http_util import json_answer


class TillRedeemIn(BaseModel):
    """``POST /v1/rewards/{code}/redeem``: the check the reward goes on, and the till."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId | None = None
    till: str | None = Field(default=None, min_length=1, max_length=64)


async def post_till_redeem(request: web.Request) -> web.Response:
    """``POST /v1/rewards/{code}/redeem``: a till redeems a reward of its business once."""
    who = await principal(request, need="device")
    body = await read_body(request, TillRedeemIn, optional=True)
    metrics = request.app[METRICS]
    try:
        out = await request.app[STORE].redeem(
            who, request.match_info["code"], now(request), body.order_id
        )
    except StoreError as err:
        metrics.redeems.labels(err.code).inc()
        raise
    metrics.redeems.labels("redeemed").inc()
    return json_answer(out)
