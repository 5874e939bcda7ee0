"""The reward routes of the agent (``POST /v1/rewards/{code}/redeem``, ``POST /v1/orders/quote``)
and the lifecycle of their parts (started after the cloud link, which lends them its client)."""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from agent.cloud_link import SYNC
from agent.http.errors import AgentError
from agent.http.handlers import Handler, add_routes
from agent.http.models import ErrorAnswer, OrderRequest
from agent.http.state import CLOCK, DB, METRICS, ORDERS, PROGRAM, RESULTS, SETTINGS
from agent.orders.body import read_order
from agent.orders.service import normalize_customer
from agent.rewards.models import QuoteAnswer, RedeemAnswer, RedeemRequest
from agent.rewards.quote import QuoteService
from agent.rewards.redeem import RedeemService
from agent.rewards.webhook import WebhookSender
from agent.scans.routes import SCANNING
from sync.web.http_util import json_answer, no_body, read_model, read_object
from sync.web.openapi import Operation

REDEEM = web.AppKey("redeem", RedeemService)
QUOTE = web.AppKey("quote", QuoteService)
WEBHOOK = web.AppKey("webhook", WebhookSender)
QUOTE_ID = "-"  # stands in for a quote's missing order_id while the body is read


async def post_quote(request: web.Request) -> web.StreamResponse:
    """``POST /v1/orders/quote``: the same body as ``POST /v1/orders``, nothing recorded."""
    data = await read_object(request)
    if data is None:
        raise no_body()
    given = data.get("order_id")
    req = read_order({**data, "order_id": QUOTE_ID} if given is None else data)
    customer = await normalize_customer(req.customer, request.app[DB])
    answer = await request.app[QUOTE].quote(
        req.total, req.currency, customer, None if given is None else req.order_id
    )
    request.app[METRICS].quotes.labels(answer.source).inc()
    return json_answer(answer)


async def post_redeem(request: web.Request) -> web.StreamResponse:
    """``POST /v1/rewards/{code}/redeem``."""
    req = await read_model(request, RedeemRequest, optional=True)
    counter = request.app[METRICS].redeems
    try:
        answer = await request.app[REDEEM].redeem(request.match_info["code"], req)
    except AgentError as err:
        counter.labels(err.code).inc()
        raise
    counter.labels(f"redeemed_{answer.source}").inc()
    return json_answer(answer)


ROUTES: list[tuple[Operation, Handler]] = [
    (
        Operation(
            "POST",
            "/v1/orders/quote",
            "What a check would earn before it is paid: stamps, balance, rewards (no side effect)",
            {200: QuoteAnswer, 422: ErrorAnswer},
            request=OrderRequest,
            tags=("orders",),
        ),
        post_quote,
    ),
    (
        Operation(
            "POST",
            "/v1/rewards/{code}/redeem",
            "Redeem a reward once for the business; the POS adds pos_product at zero price",
            {
                200: RedeemAnswer,
                404: ErrorAnswer,
                409: ErrorAnswer,
                410: ErrorAnswer,
                422: ErrorAnswer,
                503: ErrorAnswer,
            },
            request=RedeemRequest,
            request_required=False,
            tags=("rewards",),
        ),
        post_redeem,
    ),
]


def install_rewards(app: web.Application) -> None:
    """Add the reward routes and their parts' lifecycle (call after ``install_sync``)."""

    async def rewards_ctx(app: web.Application) -> AsyncIterator[None]:
        client = app[SYNC].client
        redeem = app[REDEEM] = RedeemService(
            app[SETTINGS], app[DB], client, clock=app[CLOCK], language=lambda: app[PROGRAM].language
        )
        await redeem.load_waiting()
        app[ORDERS].rewards = redeem
        scanning = app[SCANNING].service
        if scanning is not None:
            scanning.redeemer = redeem.redeem_at_till
        app[QUOTE] = QuoteService(app[SETTINGS], app[DB], app[PROGRAM], client, clock=app[CLOCK])
        task: asyncio.Task[None] | None = None
        if app[SETTINGS].pos.webhook_url:
            sender = app[WEBHOOK] = WebhookSender(app[SETTINGS], app[DB])
            app[RESULTS].on_written = sender.wake
            task = asyncio.create_task(sender.run(), name="pos-webhook")
        try:
            yield
        finally:
            app[ORDERS].rewards = None
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(rewards_ctx)
    add_routes(app, ROUTES)
