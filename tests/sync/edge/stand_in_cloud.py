"""A small cloud that speaks the sync protocol, for the uploader's unit tests.

It keeps an in-memory ledger keyed by event id (``applied`` once, then ``duplicate``), rejects
events whose ``order_id`` starts with ``POISON``, answers 422 for a whole batch containing an order
whose ``order_id`` starts with ``BADBATCH``, and can be told to fail the next requests with a
status or to stall. The real cloud store (``sync/cloud/``) is used by the end-to-end tests.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from sync.contract.events import (
    BatchResult,
    CardState,
    EventBatch,
    EventResult,
    EventStatus,
    ProgramState,
    SyncState,
    payload_hash,
)

DEVICE_KEY = "sk_7_testkey"


def default_program(version: int = 1, **changes: Any) -> ProgramState:
    """A per-order program, 1 stamp a check, goal 10."""
    base: dict[str, Any] = {
        "rule": "per_order",
        "step": Decimal("10"),
        "stamps_per_order": 1,
        "goal": 10,
        "currency": "EUR",
        "version": version,
    }
    base.update(changes)
    return ProgramState.model_validate(base)


@dataclass
class StandInCloud:
    """State and knobs of the stand-in cloud."""

    key: str = DEVICE_KEY
    ledger: dict[str, str] = field(default_factory=dict)  # event id -> payload hash
    order: list[str] = field(default_factory=list)  # event ids in the order applied
    batches: list[int] = field(default_factory=list)  # size of every batch received
    fail_next: list[int] = field(default_factory=list)  # statuses to answer, one per request
    stall_s: float = 0.0  # sleep after applying, before answering
    program: ProgramState = field(default_factory=default_program)
    cards: list[CardState] = field(default_factory=list)
    page: int = 100
    on_post: Callable[[], Awaitable[None]] | None = None
    requests: int = 0
    meta: dict[str, dict[str, str]] = field(default_factory=dict)
    in_flight: int = 0
    arrivals: list[tuple[int, set[str]]] = field(default_factory=list)  # (others in flight, types)
    encodings: list[str] = field(default_factory=list)  # each batch's Content-Encoding ("" none)

    def add_card(self, **fields: Any) -> CardState:
        """Add or change a card; it gets the next sequence number."""
        seq = max((c.updated_seq for c in self.cards), default=0) + 1
        card = CardState.model_validate({**fields, "updated_seq": seq})
        self.cards = [c for c in self.cards if c.customer_id != card.customer_id] + [card]
        return card

    def _unknown_card(self, payload: dict[str, Any]) -> bool:
        card = (payload.get("customer") or {}).get("card")
        return card is not None and card not in {c.card_code for c in self.cards}

    def ledger_rows(self) -> list[dict[str, str]]:
        """The applied events in order: id, type, order id."""
        return [{"event_id": eid, **self.meta[eid]} for eid in self.order]

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.key}"

    async def post_events(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request):
            return _error(401, "unauthorized", "unknown device key")
        if self.fail_next:
            return _error(self.fail_next.pop(0), "injected", "failure injected by the test")
        batch = EventBatch.model_validate_json(await request.read())  # aiohttp inflates it
        self.batches.append(len(batch.events))
        self.encodings.append(request.headers.get("Content-Encoding", ""))
        self.arrivals.append((self.in_flight, {e.type for e in batch.events}))
        self.in_flight += 1
        try:
            return await self._apply(batch)
        finally:
            self.in_flight -= 1

    async def _apply(self, batch: EventBatch) -> web.Response:
        if any(str(e.payload.get("order_id", "")).startswith("BADBATCH") for e in batch.events):
            return _error(422, "invalid", "a payload does not validate")
        if self.on_post is not None:
            await self.on_post()
        results = []
        for e in batch.events:
            eid = str(e.id)
            h = payload_hash(e.type, e.payload)
            if eid in self.ledger:
                status = EventStatus.DUPLICATE if self.ledger[eid] == h else EventStatus.REJECTED
                results.append(EventResult(id=e.id, status=status))
            elif str(e.payload.get("order_id", "")).startswith("POISON") or (
                self._unknown_card(e.payload)
            ):
                results.append(
                    EventResult(id=e.id, status=EventStatus.REJECTED, reason="unknown card")
                )
            else:
                self.ledger[eid] = h
                self.order.append(eid)
                self.meta[eid] = {"type": e.type, "order_id": str(e.payload.get("order_id"))}
                results.append(EventResult(id=e.id, status=EventStatus.APPLIED))
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
        return web.json_response(text=BatchResult(results=results).model_dump_json())

    async def get_state(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request):
            return _error(401, "unauthorized", "unknown device key")
        if self.fail_next:
            return _error(self.fail_next.pop(0), "injected", "failure injected by the test")
        cursor = int(request.query.get("cursor", "0"))
        newer = sorted(
            (c for c in self.cards if c.updated_seq > cursor), key=lambda c: c.updated_seq
        )
        page = newer[: self.page]
        state = SyncState(
            branch_id="1",
            program=self.program,
            cards=page,
            cursor=page[-1].updated_seq
            if page
            else max((c.updated_seq for c in self.cards), default=0),
            more=len(newer) > len(page),
        )
        return web.json_response(text=state.model_dump_json())

    async def customers(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request):
            return _error(401, "unauthorized", "unknown device key")
        if self.fail_next:
            return _error(self.fail_next.pop(0), "injected", "failure injected by the test")
        q = request.query.get("q", "")
        found = [
            {**c.model_dump(exclude={"updated_seq"}), "goal": self.program.goal}
            for c in self.cards
            if q in (c.card_code, c.number, c.email) or (c.name and q in c.name)
        ]
        return web.json_response({"customers": found})

    async def ledger_view(self, request: web.Request) -> web.Response:
        del request
        return web.json_response(self.ledger_rows())

    async def health(self, request: web.Request) -> web.Response:
        del request
        return web.json_response({"status": "ok"})

    def app(self) -> web.Application:
        """The aiohttp app serving this cloud."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/sync/events", self.post_events)
        app.router.add_get("/v1/sync/state", self.get_state)
        app.router.add_get("/v1/customers", self.customers)
        app.router.add_get("/test/ledger", self.ledger_view)
        app.router.add_get("/health", self.health)
        return app


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


__all__ = ["DEVICE_KEY", "StandInCloud", "default_program"]
