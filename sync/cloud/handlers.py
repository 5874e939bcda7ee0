"""HTTP handlers for devices and the business: sync, customers, cards, API stamps, redeeming."""

import time
from collections import Counter

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from sync.cloud import ledger
from sync.cloud.book import Caused
from sync.cloud.card_links import verified
from sync.cloud.effects import batch_answer
from sync.cloud.errors import InvalidInput, StoreError, Unauthorized
from sync.cloud.http import (
    METRICS,
    READER,
    RNG,
    SETTINGS,
    STORE,
    int_param,
    now,
    optional_principal,
    principal,
    read_body,
    refuse_unstorable_json,
)
from sync.cloud.models import CustomerIn, CustomerList, StampIn
from sync.cloud.store.figures import tag_of
from sync.contract.events import EventBatch
from sync.web.http_util import json_answer, json_answer_off_loop
from sync.web.throttle import GUESSES, check


class _Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedeemIn(_Empty):
    """``POST /v1/vouchers/{code}/redeem``: optionally who hands it over."""

    till: str | None = Field(default=None, max_length=64)


async def post_events(request: web.Request) -> web.Response:
    """``POST /v1/sync/events``: a device's batch, applied in one transaction.

    The body takes ``intake.read_batch`` (orjson, plain checks; in a helper process when the
    app has one, ``batch_reader.py``) when that can vouch for it, and ``EventBatch`` (pydantic,
    which words every 422) otherwise; both give the same events.
    """
    who = await principal(request, need="device")
    raw = await request.read()
    refuse_unstorable_json(raw)
    read = await request.app[READER].read(raw)
    if read is None:
        items, keys = ledger.incoming((await read_body(request, EventBatch)).events), None
    else:
        items, keys = read
    metrics = request.app[METRICS]
    metrics.batch_events.observe(len(items))
    started = time.perf_counter()
    caused: dict[str, Caused] = {}
    outcomes = await request.app[STORE].apply_incoming(
        who, items, now(request), request.app[RNG], keys, caused
    )
    metrics.batch_seconds.observe(time.perf_counter() - started)
    for status, n in Counter(status for _, status, _ in outcomes).items():
        metrics.events.labels(status.value).inc(n)
    store = request.app[STORE]
    replayed = await store.replayed_effects(who, items, outcomes)
    # a big batch's answer (a reward per goal reached) is built off the loop, as its ledger
    # work was (``off_loop.py``)
    body = await store.off_loop.run(len(items), batch_answer, outcomes, caused, replayed)
    return web.Response(body=body, content_type="application/json")


# Cards and rewards up to which a state answer is written on the loop: a worker thread's
# hand-off (a future, a wake-up, the GIL passed back and forth) costs more than writing a few
# dozen cards' JSON; it was 9% of a cloud process's samples under bench/fleet.py (2026-12-08).
SMALL_STATE = 50


async def get_state(request: web.Request) -> web.Response:
    """``GET /v1/sync/state?cursor=N``: the branch's program and cards changed since ``N``.

    An answer that leaves the device with nothing more to fetch carries an ``ETag``
    (``figures.state_tag``); asked again with it in ``If-None-Match`` at the cursor it left
    while nothing the device would be sent changed, the answer is ``304`` after one indexed
    look-up instead of the program, the cards and the rewards.
    """
    who = await principal(request, need="device")
    cursor = int_param(request.query.get("cursor"), "cursor", default=0)
    assert cursor is not None
    # the business's language is the cloud's setting, not the database's: the tag covers it
    language = request.app[SETTINGS].cloud.language
    tags = etags(request.headers.get("If-None-Match", ""))
    state = await request.app[STORE].sync_state(who, cursor, language, tags)
    if isinstance(state, str):
        request.app[METRICS].state_pulls.labels("not_modified").inc()
        return web.Response(status=304, headers={"ETag": state})
    small = len(state.cards) + sum(len(c.rewards) for c in state.cards) <= SMALL_STATE
    answer = json_answer(state) if small else await json_answer_off_loop(state)
    tag = tag_of(state)
    if tag is not None:
        answer.headers["ETag"] = tag
    request.app[METRICS].state_pulls.labels("full").inc()
    return answer


def etags(header: str) -> list[str]:
    """The entity tags of an ``If-None-Match`` header (weak ones as strong: the state's tag
    names its content exactly); none for an absurdly long header."""
    if not header or len(header) > 1000:
        return []
    return [t.strip().removeprefix("W/") for t in header.split(",")[:20] if t.strip()]


async def post_customer(request: web.Request) -> web.Response:
    """``POST /v1/customers``: a new customer and card."""
    who = await principal(request)
    body = await read_body(request, CustomerIn)
    who.branch_for(body.branch_id)
    out = await request.app[STORE].create_customer(
        who, body.email, body.name, now(request), phone=body.phone
    )
    return json_answer(out, status=201)


async def get_customers(request: web.Request) -> web.Response:
    """``GET /v1/customers?q=``: by card code, number, email or part of the name."""
    who = await principal(request)
    q = request.query.get("q", "").strip()
    if not 1 <= len(q) <= 200:
        raise InvalidInput("q must be 1 to 200 characters", field="q")
    lookups = request.app[GUESSES].lookups
    client = check(request, lookups)
    found = await request.app[STORE].find_customers(who, q)
    if not found:
        lookups.fail(client)  # six-digit numbers are few: misses are guesses
    return json_answer(CustomerList(customers=found))


async def get_card(request: web.Request) -> web.Response:
    """``GET /v1/cards/{card_code}``: the card and its rewards (name and email with a key).

    A card code is printed and shown at the till: the rewards list (redeemable codes) needs a
    key of the card's business or the card's link signature (``?sig=``).
    """
    who = await optional_principal(request)
    code = request.match_info["card_code"]
    signed = await verified(request, code, request.query.get("sig", ""))
    if who is None and not signed:
        raise Unauthorized("a key of the card's business or the card's link signature is needed")
    card = await request.app[STORE].card(code, now(request), who)
    if not signed and (who is None or who.business_id != card.business_id):
        raise Unauthorized("a key of the card's business or the card's link signature is needed")
    return await json_answer_off_loop(card)


async def post_stamps(request: web.Request) -> web.Response:
    """``POST /v1/stamps``: the API channel, idempotent on ``order_id``."""
    who = await principal(request)
    body = await read_body(request, StampIn)
    out, created = await request.app[STORE].stamp(who, body, now(request), request.app[RNG])
    return json_answer(out, status=201 if created else 200)


async def post_redeem(request: web.Request) -> web.Response:
    """``POST /v1/vouchers/{code}/redeem``: a gift or voucher passes once."""
    who = await principal(request)
    await read_body(request, RedeemIn, optional=True)
    metrics = request.app[METRICS]
    try:
        out = await request.app[STORE].redeem(who, request.match_info["code"], now(request))
    except StoreError as err:
        metrics.redeems.labels(err.code).inc()
        raise
    metrics.redeems.labels("redeemed").inc()
    return json_answer(out)
