"""Rewards at the till: a device redeems a gift or voucher once for the whole business, and
reads one card (balance, open rewards) to quote a check before it is paid.

``POST /v1/rewards/{code}/redeem`` (device key) takes ``{"order_id"?, "till"?}``, the check the
reward is handed over on, and answers the reward with its ``pos_product`` (the line the POS adds
at zero price). ``409 already_redeemed``, ``409 not_active`` (with ``valid_from`` in the message),
``410 expired``, ``404 unknown_reward``. Concurrent redeems of one code, through any number of
cloud processes, are serialised by the business's write lock: exactly one wins.
"""

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.cloud.errors import InvalidInput, StoreError
from sync.cloud.http import METRICS, STORE, now, principal, read_body
from sync.contract.events import CustomerRef, OrderId
from sync.web.http_util import json_answer, json_answer_off_loop


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


async def get_card_state(request: web.Request) -> web.Response:
    """``GET /v1/sync/card?card=|number=|email=``: one card of the business as a till caches
    it (``CardState``: balance, open rewards), for ``POST /v1/orders/quote`` on the agent."""
    who = await principal(request, need="device")
    try:
        ref = CustomerRef.model_validate(
            {k: v for k, v in request.query.items() if k in ("card", "number", "email")}
        )
    except ValidationError as err:
        raise InvalidInput("give exactly one of card, number, email", field="customer") from err
    return await json_answer_off_loop(await request.app[STORE].card_state(who, ref))
