"""The ``Store``'s customers and rewards: creating and finding cards, export and erasure,
retention (expired receipt QRs, ended sessions), redeeming a reward once."""

from datetime import datetime

from sync.cloud.book import to_us
from sync.cloud.errors import Conflict, InvalidInput, NotFound
from sync.cloud.models import CardOut, CustomerOut, RedeemOut
from sync.cloud.store import book_io, customers, figures, privacy, retention, sessions
from sync.cloud.store.store_base import StoreBase
from sync.cloud.store.tenancy import Principal
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.events import CardState, CustomerRef
from sync.contract.phones import PhoneError, canonical_phone


class CustomerOps(StoreBase):
    """Customers, cards and rewards."""

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
