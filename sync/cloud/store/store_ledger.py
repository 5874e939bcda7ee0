"""The ``Store``'s ledger operations: a device's batch of events, and the API channel's stamps
(written as the same events)."""

import asyncio
import random
import uuid
from datetime import datetime
from typing import Any

from sync.cloud import ledger
from sync.cloud.book import Caused
from sync.cloud.effects import result_json
from sync.cloud.errors import Conflict, InvalidInput, NotFound
from sync.cloud.models import StampIn, StampOut
from sync.cloud.records import BatchKeys, Incoming, batch_keys
from sync.cloud.store import book_io, customers, replay, tenancy
from sync.cloud.store.group_commit import Job, apply_in
from sync.cloud.store.store_base import StoreBase
from sync.cloud.store.tenancy import Principal
from sync.contract.events import BatchResult, Event, EventResult, EventStatus, EventType
from sync.contract.phones import PhoneError
from sync.contract.program import stamps_for

API_NAMESPACE = uuid.UUID("6f1d1c5e-3c1b-4f0e-9a51-5d4c1b2a7e10")


class LedgerOps(StoreBase):
    """Batches of events and the API channel's stamps."""

    async def apply_events(
        self, who: Principal, events: list[Event], now: datetime, rng: random.Random
    ) -> BatchResult:
        """Apply a device's batch in one transaction; one result per event, in order."""
        caused: dict[str, Caused] = {}
        items = ledger.incoming(events)
        outcomes = await self.apply_incoming(who, items, now, rng, None, caused)
        replayed = await self.replayed_effects(who, items, outcomes)
        return BatchResult(
            results=[
                EventResult.model_validate(result_json(eid, status, reason, caused, replayed))
                for eid, status, reason in outcomes
            ]
        )

    async def apply_incoming(
        self,
        who: Principal,
        items: list[Incoming],
        now: datetime,
        rng: random.Random,
        keys: BatchKeys | None = None,
        caused: dict[str, Caused] | None = None,
    ) -> list[ledger.Outcome]:
        """``apply_events`` for events already worked out (``intake.read_batch`` or
        ``ledger.incoming``): each event's id, status and reason, in the order sent.
        ``keys``: ``records.batch_keys(items)`` if already worked out; ``caused``, if given,
        is filled with what each applied event credited (``ledger.credit``)."""
        assert who.branch_id is not None
        if self._batches is not None:
            return await self._batches.submit(who, items, now, rng, keys, caused)
        keys = keys or batch_keys(items)
        if self._groups is not None:
            return await self._groups.submit(who, items, keys, now, rng, caused)
        job = Job(who, items, keys, now, rng, asyncio.get_running_loop().create_future())
        async with self.db.write(who.business_id) as tx:
            outcomes = await apply_in(tx, job, self.off_loop)
        if caused is not None:
            caused.update(job.caused)
        self.db.wrote(job.applied)
        return outcomes

    async def replayed_effects(
        self, who: Principal, items: list[Incoming], outcomes: list[ledger.Outcome]
    ) -> dict[str, dict[str, Any]]:
        """What the batch's duplicates (events sent again) caused when first applied."""
        dups = {eid for eid, status, _ in outcomes if status is EventStatus.DUPLICATE}
        if not dups or who.branch_id is None:
            return {}
        async with self.db.read() as tx:
            return await replay.replayed_effects(tx, who.branch_id, who.device_id, items, dups)

    async def stamp(
        self, who: Principal, body: StampIn, now: datetime, rng: random.Random
    ) -> tuple[StampOut, bool]:
        """The API channel: stamp a card under the branch's rule; idempotent on ``order_id``.

        Returns the answer and whether it was new (``False``: the same order and body again).
        """
        branch_id = who.branch_for(body.branch_id)
        customer = body.customer
        async with self.db.read() as tx:
            if branch_id is None:
                branch_id = (await tenancy.list_branches(tx, who.business_id))[0].branch_id
            branch = await tenancy.get_branch(tx, who.business_id, branch_id)
            if customer.phone is not None:  # as the CRM has it: read in the business's country
                try:
                    customer = customer.canonical(await customers.country_of(tx, who.business_id))
                except PhoneError as err:
                    raise InvalidInput(str(err), field="customer.phone") from err
        stamps = stamps_for(branch.program.rules(), body.total)
        payload = {
            "order_id": body.order_id,
            "total": str(body.total),
            "currency": branch.program.currency,
            "stamps": stamps,
            "rule": branch.program.rule,
            "customer": customer.model_dump(exclude_none=True),
        }
        event = Event(
            id=uuid.uuid5(API_NAMESPACE, f"{branch_id}:{body.order_id}"),
            type=EventType.ORDER_STAMPED.value,
            device_time=now,
            payload=payload,
        )
        api = Principal("device", who.business_id, branch_id, None)
        result = (await self.apply_events(api, [event], now, rng)).results[0]
        if result.status is EventStatus.REJECTED:
            if result.reason and "another payload" in result.reason:
                raise Conflict("this order_id was stamped with another body", field="order_id")
            if result.reason and result.reason.startswith("unknown"):
                raise NotFound(result.reason, code="unknown_card", field="customer")
            raise Conflict(result.reason or "rejected", field="order_id")
        async with self.db.read() as tx:
            row = await tx.fetchrow(
                "SELECT customer_id, credited FROM orders WHERE branch_id = ? AND order_id = ? "
                "AND scope = ''",  # the API channel's checks (``book.order_scope``)
                branch_id, body.order_id,
            )  # fmt: skip
            assert row is not None
            card_row = await tx.fetchrow(
                f"SELECT {book_io.CARD_COLUMNS} FROM customers WHERE id = ?",  # noqa: S608
                int(row["customer_id"]),
            )
            assert card_row is not None
            got = await tx.fetch(
                f"SELECT {customers.REWARD_COLUMNS} FROM rewards WHERE event_id = ?",  # noqa: S608
                str(event.id),
            )
        out = StampOut(
            order_id=body.order_id,
            branch_id=branch_id,
            stamps=int(row["credited"]),
            replay=result.status is EventStatus.DUPLICATE,
            card=customers.customer_out(book_io.card_of(card_row), branch.program.goal),
            rewards=[customers.reward_out(r, now) for r in got],
        )
        return out, result.status is EventStatus.APPLIED
