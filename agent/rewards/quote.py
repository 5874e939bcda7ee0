"""Quoting a check before it is paid: stamps, the card before and after, rewards (no side effects).

``quote_for`` is pure: the same program and card give the same answer, and its stamps are what
``POST /v1/orders`` then records (both call ``stamps_for``); its balance after and cycles are the
cloud ledger's ``credit`` (``tests/agent/test_quote.py`` holds them equal over rules, balances
and goals). ``QuoteService`` finds the card: from the cloud (``GET /v1/sync/card``) when it answers
within ``agent.quote_budget_ms``, else from the card cache the sync state keeps (``source``
says which). After the cloud failed to answer in time it is not asked again for ``QUIET_S``, so a
cut-off link costs the budget once, not on every quote.
"""

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from agent.db import AgentDb
from agent.http.errors import InvalidInput
from agent.orders.program_source import ProgramSource
from agent.rewards.models import (
    AvailableReward,
    GoalReward,
    QuoteAnswer,
    QuoteCustomer,
)
from config import AgentSettings
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.events import CardState, CustomerRef, OpenReward
from sync.contract.program import Program, stamps_for
from sync.edge.client import CloudAnswered, CloudAuthError, CloudClient, CloudUnreachable

QUIET_S = 15.0
CACHE_MARGIN_S = 0.02  # of the budget, left for the cache read after the cloud's silence
Source = Literal["cloud", "cache"]


def reward_state(r: OpenReward, now: datetime) -> Literal["issued", "active", "expired"]:
    """An open reward's state at ``now`` (the cloud's ``reward_state`` for unredeemed ones)."""
    if r.valid_until is not None and now >= r.valid_until:
        return "expired"
    return "issued" if now < r.valid_from else "active"


def after_credit(balance: int, stamps: int, goal: int) -> tuple[int, int]:
    """The balance after ``stamps`` and the cycles completed (the cloud ledger's ``credit``)."""
    if stamps <= 0:
        return balance, 0
    total = balance + stamps
    if 0 <= total < goal:
        return total, 0
    cycles, rest = divmod(max(total, 0), goal)
    return rest, cycles


def quote_for(
    *,
    program: Program,
    reward: str,
    reward_name: str,
    total: Decimal,
    order_id: str | None,
    customer: CustomerRef | None,
    card: CardState | None,
    source: Source,
    now: datetime,
    redeemed_here: frozenset[str] = frozenset(),
) -> QuoteAnswer:
    """What a check of ``total`` would do on ``card`` (None: nobody, or nobody found)."""
    stamps = stamps_for(program, total)
    answer = QuoteAnswer(
        order_id=order_id,
        stamps=stamps,
        rule=program.rule,
        customer_ref=customer,
        goal=program.goal,
        source=source,
    )
    if card is None:
        return answer
    after, cycles = after_credit(card.balance, stamps, program.goal)
    goal_reward = None
    if cycles:
        kind: Literal["gift", "voucher", "lottery"] = (
            "lottery" if reward == "lottery" else "voucher" if reward == "voucher" else "gift"
        )
        goal_reward = GoalReward(
            kind=kind,
            title="Lottery draw" if kind == "lottery" else reward_name,
            count=cycles,
            pos_product=program.pos_product,
        )
    answer.customer = QuoteCustomer(card_code=card.card_code, number=card.number, name=card.name)
    answer.known = True
    answer.balance_before, answer.balance_after = card.balance, after
    answer.rewards_on_this_check = goal_reward
    answer.available = [
        AvailableReward(
            code=r.code,
            kind=r.kind,
            title=r.title,
            state=reward_state(r, now),
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            pos_product=r.pos_product,
        )
        for r in card.rewards
        if r.code not in redeemed_here
    ]
    return answer


class QuoteService:
    """Finds the card (cloud within the budget, else cache) and quotes the check."""

    def __init__(
        self,
        settings: AgentSettings,
        db: AgentDb,
        programs: ProgramSource,
        client: CloudClient | None,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.programs = programs
        self.client = client
        self.clock = clock
        self.monotonic = monotonic
        self.budget_s = settings.agent.quote_budget_ms / 1000
        self._failed_at: float | None = None

    async def quote(
        self, total: Decimal, currency: str | None, customer: CustomerRef | None,
        order_id: str | None,
    ) -> QuoteAnswer:  # fmt: skip
        """The quote of a check; ``InvalidInput`` for another currency than the program's."""
        program = self.programs.current
        if currency is not None and currency != program.currency:
            raise InvalidInput(
                f"this branch's program counts {program.currency}, not {currency}",
                field="currency",
                code="currency_mismatch",
            )
        card, source = (None, "cache") if customer is None else await self._card(customer)
        redeemed: frozenset[str] = frozenset()
        if card is not None and card.rewards and source == "cloud":  # the cache's are filtered
            redeemed = await self._redeemed([r.code for r in card.rewards])
        return quote_for(
            program=program,
            reward=self.programs.reward,
            reward_name=self.programs.reward_name,
            total=total,
            order_id=order_id,
            customer=customer,
            card=card,
            source=source,
            now=self.clock(),
            redeemed_here=redeemed,
        )

    async def _redeemed(self, codes: list[str]) -> frozenset[str]:
        """Which of ``codes`` this agent has redeemed (the cache may not know yet)."""
        rows = await self.db.fetchall(
            "SELECT code FROM redemptions WHERE code IN (SELECT value FROM json_each(?))",
            (json.dumps(codes),),
        )
        return frozenset(r["code"] for r in rows)

    async def _card(self, ref: CustomerRef) -> tuple[CardState | None, Source]:
        now = self.monotonic()
        quiet = self._failed_at is not None and now - self._failed_at < QUIET_S
        if self.client is not None and not quiet:
            try:
                async with asyncio.timeout(max(self.budget_s - CACHE_MARGIN_S, 0.01)):
                    card = await self.client.card_state(ref)
            except CloudAnswered as err:
                if err.status == 404:
                    self._failed_at = None
                    return None, "cloud"  # the cloud knows no such customer
                self._failed_at = now
            except (TimeoutError, CloudUnreachable, CloudAuthError):
                self._failed_at = now
            else:
                self._failed_at = None
                return card, "cloud"
        return await self._cached(ref), "cache"

    async def _cached(self, ref: CustomerRef) -> CardState | None:
        """The cached card and its open rewards not redeemed here, in one read (one hop to the
        reader's thread: ``bench/quote.py``)."""
        if ref.card is not None:
            where, key = "card_code = ?", canonical_card_text(ref.card)
        elif ref.number is not None:
            where, key = "number = ?", ref.number
        elif ref.phone is not None:  # canonical already (``normalize_customer``)
            where, key = "phone = ?", ref.phone
        else:
            where, key = "email = ?", canonical_email(ref.email or "")
        row = await self.db.fetchone(
            "SELECT c.*, (SELECT json_group_array(json(r.reward)) FROM card_rewards r "  # noqa: S608
            "WHERE r.customer_id = c.customer_id AND r.code NOT IN (SELECT code FROM redemptions)"
            f") AS rewards FROM cards c WHERE {where} ORDER BY updated_seq DESC LIMIT 1",
            (key,),
        )
        if row is None:
            return None
        return CardState(
            customer_id=row["customer_id"],
            card_code=row["card_code"],
            number=row["number"],
            email=row["email"],
            name=row["name"],
            phone=row["phone"],
            balance=row["balance"],
            updated_seq=row["updated_seq"],
            rewards=sorted(
                (OpenReward.model_validate(r) for r in json.loads(row["rewards"])),
                key=lambda r: (r.valid_from, r.code),
            ),
        )
