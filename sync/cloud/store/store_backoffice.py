"""The ``Store``'s back office: the plan and its usage, batches of single-use codes, vouchers and
claiming a code once (the SQL is in ``vouchers.py``)."""

import random
from datetime import datetime

from sync.cloud.backoffice import plans
from sync.cloud.backoffice.models import BatchIn, BatchOut, PlanOut, VoucherIn
from sync.cloud.book import to_us
from sync.cloud.errors import NotFound
from sync.cloud.models import ClaimOut
from sync.cloud.store import customers, tenancy, vouchers
from sync.cloud.store.store_base import StoreBase
from sync.cloud.store.tenancy import Principal
from sync.contract.events import CustomerRef


class BackOfficeOps(StoreBase):
    """Plans, code batches and vouchers."""

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
