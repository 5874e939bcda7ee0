"""``Store``: the cloud store's operations, written once over the ``Db`` contract.

Every operation that reads, checks and writes runs inside ``Db.write(business_id)``, so a batch,
a claim or a redeem sees no interleaved write of the same business (see ``db.py``).
"""

import asyncio
import random
import time
import uuid
from datetime import date, datetime
from typing import Any

from sync.cloud import keys as key_text
from sync.cloud import ledger
from sync.cloud.backoffice import plans
from sync.cloud.backoffice.models import BatchIn, BatchOut, PlanOut, VoucherIn
from sync.cloud.book import Caused, to_us
from sync.cloud.effects import result_json
from sync.cloud.errors import Conflict, Gone, InvalidInput, NotFound, StoreError
from sync.cloud.metrics import StoreLoad
from sync.cloud.models import (
    BranchOut,
    CardOut,
    ClaimIn,
    ClaimOut,
    CustomerOut,
    DeviceOut,
    DeviceState,
    ProgramConfig,
    RedeemOut,
    StampIn,
    StampOut,
    StatsOut,
)
from sync.cloud.records import BatchKeys, Incoming, batch_keys
from sync.cloud.store import (
    book_io,
    customers,
    figures,
    privacy,
    replay,
    retention,
    sessions,
    tenancy,
    vouchers,
)
from sync.cloud.store.claims import CLAIM_STATUS, CLAIM_TEXT, ClaimQueue
from sync.cloud.store.db import Db
from sync.cloud.store.group_commit import GroupCommit, Job, apply_in
from sync.cloud.store.ingest import BatchPipeline
from sync.cloud.store.key_cache import KEYS_CHANNEL, KeyCache
from sync.cloud.store.off_loop import OffLoop
from sync.cloud.store.sessions import SessionState
from sync.cloud.store.sqlite import SqliteDb
from sync.cloud.store.tenancy import DeviceInfo, Principal
from sync.contract import claim_token
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.events import (
    BatchResult,
    CardState,
    CustomerRef,
    Event,
    EventResult,
    EventStatus,
    EventType,
    SyncState,
)
from sync.contract.phones import PhoneError, canonical_phone
from sync.contract.program import stamps_for

API_NAMESPACE = uuid.UUID("6f1d1c5e-3c1b-4f0e-9a51-5d4c1b2a7e10")


DEVICE_CACHE_S = 30.0


class Store:
    """The cloud store over one database (``sqlite.py`` or ``postgres.py``)."""

    def __init__(self, db: Db, schema_version: int) -> None:
        self.db = db
        self.schema_version = schema_version
        self._devices: dict[int, tuple[float, DeviceInfo]] = {}
        self.keys = KeyCache()
        self._claims = ClaimQueue(db)
        # SQLite: batches go through the write pipeline (``ingest.py``); PostgreSQL: those of
        # concurrent requests share transactions (``group_commit.py``)
        self.off_loop = OffLoop()  # a big batch's CPU steps leave the event loop (``off_loop.py``)
        self._batches = BatchPipeline(db, self.off_loop) if isinstance(db, SqliteDb) else None
        self._groups: GroupCommit | None = None
        if db.dialect == "postgresql":
            from sync.cloud.store.postgres import PgDb  # asyncpg only where it is used

            assert isinstance(db, PgDb)
            self._groups = GroupCommit(db, db.wrote, self.off_loop)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def start(self) -> None:
        """Hear key revocations made by other processes on this database (``key_cache.py``)."""
        await self.db.listen(KEYS_CHANNEL, self._heard, self._trust)

    def _heard(self, payload: str) -> None:
        self.keys.heard(payload)
        kind, _, ident = payload.partition(":")
        if kind == "sk" and ident.isdigit():
            self._devices.pop(int(ident), None)

    def _trust(self, trusted: bool) -> None:
        self.keys.clear()
        self.keys.trusted = trusted
        self._devices.clear()

    def load(self) -> StoreLoad:
        """The gauges ``/metrics`` shows of this store."""
        pool_open, pool_in_use = self.db.connections()
        stats = self.keys.stats
        return StoreLoad(
            key_hits=stats.hits,
            key_misses=stats.misses,
            keys_cached=len(self.keys),
            keys_trusted=self.keys.trusted,
            batches_waiting=sum(q.waiting for q in (self._batches, self._groups) if q is not None),
            pool_open=pool_open,
            pool_in_use=pool_in_use,
            group_commits=self._groups.groups if self._groups is not None else 0,
            group_batches=self._groups.grouped if self._groups is not None else 0,
        )

    async def close(self) -> None:
        """Close the database (after the batches already sent are applied)."""
        if self._batches is not None:
            await self._batches.close()
        if self._groups is not None:
            await self._groups.close()
        await self.off_loop.close()
        await self.db.close()

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.db.read() as tx:
            await tx.fetchval("SELECT 1")

    # tenancy ---------------------------------------------------------------------------------

    async def businesses_named(self, name: str) -> list[int]:
        """The ids of the businesses called ``name`` (case and outer spaces ignored)."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT id FROM businesses WHERE lower(trim(name)) = ? ORDER BY id",
                name.strip().lower(),
            )
        return [int(r[0]) for r in rows]

    async def create_business(
        self, name: str, now: datetime, country: str | None = None
    ) -> tuple[int, str]:
        """A new business (in ``country``, ISO 3166 alpha-2): its id and admin key."""
        async with self.db.write(0) as tx:
            return await tenancy.create_business(tx, name, to_us(now), country)

    async def create_branch(
        self, business_id: int, name: str, timezone: str, program: ProgramConfig, now: datetime
    ) -> BranchOut:
        """A new branch of the business."""
        async with self.db.write(business_id) as tx:
            return await tenancy.create_branch(tx, business_id, name, timezone, program, to_us(now))

    async def create_device(
        self, business_id: int, branch_id: int, label: str, now: datetime
    ) -> DeviceOut:
        """A new device key for the branch (``OverLimit`` past the plan's staff seats)."""
        async with self.db.write(business_id) as tx:
            plans.check_seats(
                await vouchers.plan_of(tx, business_id), await vouchers.seats_used(tx, business_id)
            )
            return await tenancy.create_device(tx, business_id, branch_id, label, to_us(now))

    async def set_program(
        self, business_id: int, branch_id: int, program: ProgramConfig
    ) -> BranchOut:
        """Change a branch's program."""
        async with self.db.write(business_id) as tx:
            return await tenancy.set_program(tx, business_id, branch_id, program)

    async def branch(self, business_id: int, branch_id: int) -> BranchOut:
        """One branch of the business."""
        async with self.db.read() as tx:
            return await tenancy.get_branch(tx, business_id, branch_id)

    async def branches(self, business_id: int) -> list[BranchOut]:
        """Every branch of the business."""
        async with self.db.read() as tx:
            return await tenancy.list_branches(tx, business_id)

    async def business_name(self, business_id: int) -> str:
        """The business's name, for pages."""
        async with self.db.read() as tx:
            return await tenancy.business_name(tx, business_id)

    async def card_link_key(self, card_code: str) -> bytes:
        """The secret that signs this card's private page link (``NotFound`` for no card)."""
        async with self.db.read() as tx:
            row = await tx.fetchrow(
                "SELECT c.business_id, b.link_key FROM customers c JOIN businesses b "
                "ON b.id = c.business_id WHERE c.card_code = ?",
                canonical_card_text(card_code),
            )
        if row is not None and row["link_key"]:
            return bytes.fromhex(row["link_key"])
        async with self.db.write(int(row["business_id"]) if row else 0) as tx:
            return await tenancy.card_link_key(tx, card_code)

    async def session_state(self, business_id: int, nonce: str = "") -> SessionState | None:
        """What checking a dashboard session of the business needs: its admin-key hash (the
        sessions are signed under it), its last "sign out everywhere" and whether ``nonce``
        was signed out (``sessions.py``)."""
        async with self.db.read() as tx:
            return await sessions.session_state(tx, business_id, nonce)

    async def end_session(self, business_id: int, nonce: str, expires_s: int) -> None:
        """Sign one dashboard session out (until it would have expired)."""
        async with self.db.write(business_id) as tx:
            await sessions.end_session(tx, business_id, nonce, expires_s)

    async def end_all_sessions(self, business_id: int, now_s: int) -> None:
        """Sign out every dashboard session of the business issued up to ``now_s``."""
        async with self.db.write(business_id) as tx:
            await sessions.end_all_sessions(tx, business_id, now_s)

    async def authenticate(self, key: str) -> Principal:
        """Who the key belongs to (``Unauthorized`` if nobody); a key found current is not
        looked up again for a while, revocations aside (``key_cache.py``)."""
        key_hash = key_text.hash_key(key)
        who = self.keys.get(key_hash)
        if who is not None:
            return who
        started = time.monotonic()
        async with self.db.read() as tx:
            who = await tenancy.authenticate(tx, key)
        self.keys.put(key_hash, who, started)
        return who

    async def rotate_admin_key(self, business_id: int) -> str:
        """A new admin key for the business, shown once; the old one stops working at once
        (in every process on this database: ``key_cache.py``)."""
        async with self.db.write(business_id) as tx:
            key = await tenancy.rotate_admin_key(tx, business_id)
            await tx.announce(KEYS_CHANNEL, f"ak:{business_id}")
        self.keys.drop("ak", business_id)
        return key

    async def device(self, device_id: int) -> DeviceInfo | None:
        """A device with its secret; kept in memory for ``DEVICE_CACHE_S`` (a secret never
        changes; a revocation made by another process on the same database shows within that
        time, one made through this store at once)."""
        known = self._devices.get(device_id)
        if known is not None and time.monotonic() - known[0] < DEVICE_CACHE_S:
            return known[1]
        async with self.db.read() as tx:
            found = await tenancy.device_info(tx, device_id)
        if found is not None:
            self._devices[device_id] = (time.monotonic(), found)
        return found

    async def devices(self, business_id: int) -> list[DeviceState]:
        """The business's devices (without keys or secrets)."""
        async with self.db.read() as tx:
            return await tenancy.list_devices(tx, business_id)

    async def revoke_device(self, business_id: int, device_id: int, now: datetime) -> DeviceState:
        """Revoke a device key: it stops syncing, and its receipt QRs stop being claimable."""
        async with self.db.write(business_id) as tx:
            out = await tenancy.revoke_device(tx, business_id, device_id, to_us(now))
            await tx.announce(KEYS_CHANNEL, f"sk:{device_id}")
        self.keys.drop("sk", device_id)
        self._devices.pop(device_id, None)
        return out

    # the ledger -------------------------------------------------------------------------------

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

    # claims -----------------------------------------------------------------------------------

    async def claim(self, token: str, body: ClaimIn, now: datetime, rng: random.Random) -> ClaimOut:
        """Claim a receipt QR onto the card the phone presents, or a new card (single use).

        Verified here, outside any lock; applied by the claim queue with whatever other claims
        of the branch are waiting (``claims.py``).
        """
        verified, device = await self.verify_token(token, now)
        return await self._claims.submit(verified, device, body, now, rng)

    async def claim_status(self, token: str, now: datetime) -> claim_token.ClaimToken:
        """The token's claim if it could be claimed right now (read only; raises like ``claim``)."""
        verified, device = await self.verify_token(token, now)
        async with self.db.read() as tx:
            row = await tx.fetchrow(
                "SELECT state, expires_us FROM receipt_qrs WHERE branch_id = ? AND order_ref = ? "
                "AND device_id = ?",
                device.branch_id, verified.order_ref, device.device_id,
            )  # fmt: skip
        if row is not None:
            problem = {"claimed": "already_claimed", "attached": "already_claimed",
                       "cancelled": "voided"}.get(row["state"])  # fmt: skip
            if problem is not None:
                raise CLAIM_STATUS[problem](CLAIM_TEXT[problem], code=problem, field="token")
        return verified

    async def receipt_shop(self, token: str, now: datetime) -> str:
        """The shop's name on a genuine receipt code, expired or spent too ("" for a code that
        is not ours: nothing is told about a forged one)."""
        try:
            await self.verify_token(token, now)
        except Gone:
            pass  # its signature held: only the clock is past it
        except NotFound:
            return ""
        device = await self.device(claim_token.peek_device(token))
        return await self.business_name(device.business_id) if device is not None else ""

    async def verify_token(
        self, token: str, now: datetime
    ) -> tuple[claim_token.ClaimToken, DeviceInfo]:
        try:
            device_id = claim_token.peek_device(token)
            device = await self.device(device_id)
            if device is None or device.revoked:
                raise claim_token.TokenError(
                    claim_token.TokenProblem.UNKNOWN_DEVICE, "this receipt code is not genuine"
                )
            return claim_token.verify(token, secret=device.secret, now=now), device
        except claim_token.TokenError as err:
            if err.problem is claim_token.TokenProblem.EXPIRED:
                raise Gone(str(err), code="expired", field="token") from err
            # one text for "no such device" and "bad signature": no oracle for device ids
            alike = (
                claim_token.TokenProblem.UNKNOWN_DEVICE,
                claim_token.TokenProblem.BAD_SIGNATURE,
            )
            text = str(err) if err.problem in alike else f"{err} ({err.problem.value})"
            raise NotFound(text, code="invalid", field="token") from err

    # customers and rewards ---------------------------------------------------------------------

    async def create_customer(
        self, who: Principal, email: str | None, name: str | None, now: datetime,
        phone: str | None = None,
    ) -> CustomerOut:  # fmt: skip
        """A new customer and card (``Conflict`` if the email or phone is taken in the
        business; ``InvalidInput`` if the phone is not a valid number in its country)."""
        async with self.db.write(who.business_id) as tx:
            if email is not None and await customers.email_taken(tx, who.business_id, email):
                raise Conflict(
                    "a customer with this email exists", code="email_taken", field="email"
                )
            if phone is not None:
                try:
                    phone = canonical_phone(phone, await customers.country_of(tx, who.business_id))
                except PhoneError as err:
                    raise InvalidInput(str(err), field="phone") from err
                if await customers.phone_holder(tx, who.business_id, phone) is not None:
                    raise Conflict(
                        "a customer with this phone exists", code="phone_taken", field="phone"
                    )
            card = await book_io.create_customer(
                tx, who.business_id, email=email, name=name, now_us=to_us(now), phone=phone
            )
            goal = await customers.goal_of(tx, who.business_id, who.branch_id)
        return customers.customer_out(card, goal)

    async def find_customers(self, who: Principal, q: str) -> list[CustomerOut]:
        """Customers of the business matching ``q``."""
        async with self.db.read() as tx:
            found = await customers.find(tx, who.business_id, q)
            goal = await customers.goal_of(tx, who.business_id, who.branch_id)
        return [customers.customer_out(c, goal) for c in found]

    async def export_customer(
        self, business_id: int, customer_id: int, now: datetime
    ) -> privacy.CustomerExport:
        """Everything kept about one customer of the business (``privacy.export``)."""
        async with self.db.read() as tx:
            return await privacy.export(tx, business_id, customer_id, now)

    async def erase_customer(
        self, business_id: int, customer_id: int, now: datetime, requested_by: str
    ) -> privacy.ErasureOut:
        """Erase one customer's personal data (``privacy.erase``), then make the overwritten
        rows unreadable from the database's files; idempotent."""
        async with self.db.write(business_id) as tx:
            out = await privacy.erase(tx, business_id, customer_id, now, requested_by)
        await self.db.forget_old_versions()
        return out

    async def prune_claims(self, now: datetime, retention_days: float) -> int:
        """Delete every business's receipt QRs expired more than ``retention_days`` ago, in
        short batches (``retention.prune_claims``); how many went."""
        before_us = to_us(now) - int(retention_days * 86_400 * 1_000_000)
        async with self.db.read() as tx:
            businesses = [int(r["id"]) for r in await tx.fetch("SELECT id FROM businesses")]
        total = 0
        for business_id in businesses:
            while True:
                async with self.db.write(business_id) as tx:
                    n = await retention.prune_claims(tx, business_id, before_us)
                total += n
                if n < retention.BATCH:
                    break
        return total

    async def sweep_sessions(self, now: datetime) -> int:
        """Delete the signed-out sessions of every business that have expired by ``now``
        (``sessions.sweep_ended``); how many went."""
        async with self.db.read() as tx:
            businesses = [int(r["id"]) for r in await tx.fetch("SELECT id FROM businesses")]
        total = 0
        for business_id in businesses:
            async with self.db.write(business_id) as tx:
                total += await sessions.sweep_ended(tx, business_id, int(now.timestamp()))
        return total

    async def card(self, code: str, now: datetime, who: Principal | None) -> CardOut:
        """A card with its rewards; without a key of its business, no email or name."""
        async with self.db.read() as tx:
            card, business_id = await customers.card_by_code(tx, code)
            goal = await customers.goal_of(tx, business_id, None)
            got = await customers.rewards_of(tx, card.customer_id, now)
        out = customers.customer_out(card, goal)
        if who is None or who.business_id != business_id:
            out = out.model_copy(update={"email": None, "name": None})
        return CardOut(**out.model_dump(), business_id=business_id, rewards=got)

    async def card_state(self, who: Principal, ref: CustomerRef) -> CardState:
        """One card of the business as a till caches it (balance, open rewards), for a quote;
        ``NotFound`` (``unknown_card``) if there is none."""
        text = ref.text
        async with self.db.read() as tx:
            found = [
                c for c in await customers.find(tx, who.business_id, text)
                if canonical_card_text(text) == c.card_code or text == c.number
                or canonical_email(text) == c.email or ref.phone is not None
            ]  # fmt: skip
            if not found:
                raise NotFound("no card found for this customer", code="unknown_card",
                               field="customer")  # fmt: skip
            card = found[0]
            held = await figures.open_rewards(tx, [card.customer_id])
        return CardState(
            customer_id=str(card.customer_id),
            card_code=card.card_code,
            number=card.number,
            email=card.email,
            name=card.name,
            phone=card.phone,
            balance=card.balance,
            rewards=held.get(card.customer_id, []),
        )

    async def redeem(
        self, who: Principal, code: str, now: datetime, order_id: str | None = None
    ) -> RedeemOut:
        """Redeem a gift or voucher of the business exactly once (on check ``order_id``)."""
        async with self.db.write(who.business_id) as tx:
            return await customers.redeem(
                tx, who.business_id, code, now, who.device_id, order_id, who.branch_id
            )

    # reads for the edge and the owner ----------------------------------------------------------

    async def sync_state(self, who: Principal, cursor: int) -> SyncState:
        """The device's branch program and the cards changed after ``cursor``."""
        assert who.branch_id is not None
        async with self.db.read() as tx:
            return await figures.sync_state(tx, who.business_id, who.branch_id, cursor)

    async def state_unchanged(self, who: Principal, cursor: int, tags: list[str]) -> str | None:
        """The tag among ``tags`` (``If-None-Match``) that still names the device's sync state
        at ``cursor`` (nothing changed: the answer is a 304), else ``None``."""
        assert who.branch_id is not None
        async with self.db.read() as tx:
            now = await figures.current_tag(tx, who.business_id, who.branch_id)
        if now is None or now[1] != cursor or now[0] not in tags:
            return None
        return now[0]

    async def stats(self, who: Principal, branch_id: int, first: date, last: date) -> StatsOut:
        """The branch's figures per day and per device."""
        async with self.db.read() as tx:
            return await figures.stats(tx, who.business_id, branch_id, first, last)

    # the back office ---------------------------------------------------------------------------

    async def set_plan(self, business_id: int, plan: plans.Plan) -> None:
        """Put the business on ``plan`` (the operator's decision, not the owner's)."""
        async with self.db.write(business_id) as tx:
            await vouchers.set_plan(tx, business_id, plan)

    async def plan_usage(self, business_id: int, now: datetime) -> PlanOut:
        """The plan, this month's card operations (in the business's time zone) and seats."""
        async with self.db.read() as tx:
            plan = await vouchers.plan_of(tx, business_id)
            tz, month, used = await vouchers.month_usage(tx, business_id, now)
            seats = await vouchers.seats_used(tx, business_id)
        over = max(used - plan.ops_limit, 0) if plan.ops_limit is not None else 0
        return PlanOut(plan=plan.name, month=month, timezone=tz, ops_limit=plan.ops_limit,
                       ops_used=used, over_by=over, seats_limit=plan.seats_limit,
                       seats_used=seats)  # fmt: skip

    async def create_batch(
        self, who: Principal, body: BatchIn, now: datetime, public_url: str
    ) -> BatchOut:
        """A batch of single-use codes (``OverLimit`` past the plan), with its codes."""
        async with self.db.write(who.business_id) as tx:
            branch_id = (
                body.branch or (await tenancy.list_branches(tx, who.business_id))[0].branch_id
            )
            batch_id, _ = await vouchers.create_batch(tx, who.business_id, branch_id, body, now)
            return await vouchers.batch_out(
                tx, who.business_id, batch_id, now, public_url, with_codes=True
            )

    async def create_voucher(
        self, who: Principal, body: VoucherIn, now: datetime, public_url: str, rng: random.Random
    ) -> tuple[BatchOut, ClaimOut | None]:
        """One code (a batch of one); with ``body.customer``, claimed onto that card at once."""
        batch = BatchIn(count=1, kind=body.kind, stamps=body.stamps, title=body.title,
                        valid_days=body.valid_days, branch=body.branch)  # fmt: skip
        async with self.db.write(who.business_id) as tx:
            if body.customer is not None:
                found = await customers.find(tx, who.business_id, body.customer.text)
                if not found:
                    raise NotFound("no customer with this card, number or email",
                                   code="unknown_card", field="customer")  # fmt: skip
            branch_id = (
                body.branch or (await tenancy.list_branches(tx, who.business_id))[0].branch_id
            )
            batch_id, made = await vouchers.create_batch(tx, who.business_id, branch_id, batch, now)
            claimed = None
            if body.customer is not None:
                claimed = await vouchers.claim_code(
                    tx, made[0], body.customer, now, rng, strict=True
                )
            out = await vouchers.batch_out(
                tx, who.business_id, batch_id, now, public_url, with_codes=True
            )
        return out, claimed

    async def batch(
        self, business_id: int, batch_id: int, now: datetime, public_url: str
    ) -> BatchOut:
        """A batch of the business with its codes and figures."""
        async with self.db.read() as tx:
            return await vouchers.batch_out(
                tx, business_id, batch_id, now, public_url, with_codes=True
            )

    async def batches(self, business_id: int, now: datetime, public_url: str) -> list[BatchOut]:
        """The business's latest batches with their figures (no codes)."""
        async with self.db.read() as tx:
            return [
                await vouchers.batch_out(tx, business_id, b, now, public_url, with_codes=False)
                for b in await vouchers.batch_ids(tx, business_id)
            ]

    async def devices_last_seen(self, business_id: int) -> dict[int, datetime]:
        """Each device's last activity in the ledger (aware UTC), by device id."""
        async with self.db.read() as tx:
            seen = await vouchers.last_seen(tx, business_id)
        return {d: customers.from_us(us) or datetime.min for d, us in seen.items()}

    async def mark_printed(self, business_id: int, batch_id: int) -> None:
        """The batch was downloaded for printing."""
        async with self.db.write(business_id) as tx:
            await vouchers.mark_printed(tx, business_id, batch_id)

    async def claim_code(
        self,
        code: str,
        ref: CustomerRef | None,
        now: datetime,
        rng: random.Random,
        *,
        strict: bool = False,
    ) -> ClaimOut:
        """Claim a voucher or insert code once (a new card if ``ref`` is ``None``; a card
        ``ref`` does not find: a new card, or ``NotFound`` with ``strict``)."""
        async with self.db.read() as tx:
            row = await vouchers.code_row(tx, code)
        vouchers.claim_problem(row, to_us(now))
        assert row is not None
        async with self.db.write(int(row["business_id"])) as tx:
            return await vouchers.claim_code(tx, code, ref, now, rng, strict=strict)

    async def code_status(self, code: str, now: datetime) -> tuple[str, int, str]:
        """A claimable code's kind, stamps and title (raises why it is not claimable)."""
        async with self.db.read() as tx:
            row = await vouchers.code_row(tx, code)
        vouchers.claim_problem(row, to_us(now))
        assert row is not None
        return str(row["kind"]), int(row["stamps"]), str(row["title"])


__all__ = ["Principal", "Store", "StoreError"]
