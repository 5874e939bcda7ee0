"""The quote's rules against the cloud ledger's: for any rule, balance and goal, the stamps a
quote gives are what the order records (``stamps_for``), and its balance after and rewards are
what the cloud's ``credit`` then does to the card."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.rewards.quote import after_credit, quote_for, reward_state
from sync.cloud import ledger
from sync.cloud.book import Book, Card
from sync.cloud.models import ProgramConfig
from sync.contract.events import CardState, CustomerRef, OpenReward
from sync.contract.program import PosProduct, stamps_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

programs = st.builds(
    ProgramConfig,
    rule=st.sampled_from(["per_order", "by_amount"]),
    step=st.decimals(Decimal("0.5"), Decimal("50"), places=2),
    stamps_per_order=st.integers(0, 12),
    min_total=st.none() | st.decimals(Decimal("0"), Decimal("30"), places=2),
    max_stamps_per_order=st.none() | st.integers(0, 40),
    goal=st.integers(1, 25),
    reward=st.sampled_from(["gift", "voucher"]),
    pos_product=st.none() | st.just(PosProduct(sku="G-1", name="Gift")),
)


@settings(max_examples=300, deadline=None)
@given(programs, st.integers(0, 60), st.decimals(Decimal("0"), Decimal("500"), places=2))
def test_quote_is_what_the_order_records_and_the_cloud_credits(
    config: ProgramConfig, balance: int, total: Decimal
) -> None:
    program = config.rules()
    card = CardState(customer_id="1", card_code="C", number="123456", balance=balance)
    q = quote_for(program=program, reward=config.reward, reward_name=config.reward_name,
                  total=total, order_id="Q-1", customer=CustomerRef(card="C"), card=card,
                  source="cache", now=NOW)  # fmt: skip
    assert q.stamps == stamps_for(program, total)  # what POST /v1/orders records
    book = Book(branch_id=1, device_id=1, program=config, now=NOW, rng=random.Random(0))
    cloud_card = Card(1, "C", "123456", None, None, balance)
    book.add_card(cloud_card)
    issued = ledger.credit(book, cloud_card, q.stamps, "order", "Q-1", "e1")
    assert q.balance_before == balance and q.balance_after == cloud_card.balance
    cycles = q.rewards_on_this_check.count if q.rewards_on_this_check else 0
    assert cycles == len(issued)
    if q.rewards_on_this_check is not None:
        assert q.rewards_on_this_check.pos_product == config.pos_product
        assert {r.kind for r in issued} == {q.rewards_on_this_check.kind}


@given(st.integers(-5, 50), st.integers(-3, 30), st.integers(1, 20))
def test_after_credit_never_loses_a_stamp(balance: int, stamps: int, goal: int) -> None:
    after, cycles = after_credit(balance, stamps, goal)
    if stamps <= 0:
        assert (after, cycles) == (balance, 0)
    else:
        assert after + cycles * goal == max(balance + stamps, 0) or balance + stamps < goal


def test_available_rewards_read_their_state_and_leave_out_those_redeemed_here() -> None:
    def reward(code: str, start: timedelta, end: timedelta | None) -> OpenReward:
        return OpenReward(code=code, kind="voucher", title="V", valid_from=NOW + start,
                          valid_until=None if end is None else NOW + end)  # fmt: skip

    card = CardState(customer_id="1", card_code="C", number="123456", balance=0, rewards=[
        reward("A", timedelta(hours=1), None), reward("B", -timedelta(days=2), -timedelta(days=1)),
        reward("C", -timedelta(hours=1), timedelta(days=1)), reward("D", timedelta(0), None),
    ])  # fmt: skip
    q = quote_for(program=ProgramConfig().rules(), reward="voucher", reward_name="V",
                  total=Decimal("1"), order_id=None, customer=CustomerRef(card="C"), card=card,
                  source="cloud", now=NOW, redeemed_here=frozenset({"D"}))  # fmt: skip
    assert [(r.code, r.state) for r in q.available] == [
        ("A", "issued"), ("B", "expired"), ("C", "active")]  # fmt: skip
    assert reward_state(card.rewards[3], NOW) == "active"
