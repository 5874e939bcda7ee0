"""Rewards: the pure rules (cycles, voids, voucher windows and states, lottery draws) and the
same rules through the API on both backends (gift, voucher lifecycle, lottery with budget)."""

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.cloud import rewards
from sync.cloud.models import LotteryOdd, ProgramConfig
from sync.cloud.store import Store
from tests.clock import START, Clock
from tests.sync.cloud.conftest import Cloud, event, order, start_cloud

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Scripted(random.Random):
    """A random source that draws the given outcomes in order (then repeats the last)."""

    def __init__(self, outcomes: Sequence[str]) -> None:
        super().__init__(0)
        self.outcomes = list(outcomes)

    def choices(self, population: Any, weights: Any = None, *, cum_weights: Any = None,
                k: int = 1) -> list[Any]:  # fmt: skip
        pick = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        assert pick in population
        return [pick] * k


@given(st.integers(0, 10_000), st.integers(1, 100))
def test_settle_keeps_the_remainder_and_counts_cycles(balance: int, goal: int) -> None:
    rest, done = rewards.settle(balance, goal)
    assert 0 <= rest < goal and rest + done * goal == balance


@given(st.integers(0, 100), st.integers(0, 100))
def test_takeback_never_more_than_credited_nor_below_zero(credited: int, balance: int) -> None:
    taken = rewards.takeback(credited, balance)
    assert 0 <= taken <= credited and balance - taken >= 0


def test_voucher_window_by_days_by_date_and_the_earlier_wins() -> None:
    by_days = ProgramConfig(reward="voucher", voucher_valid_days=30)
    assert rewards.voucher_window(by_days, NOW) == (NOW, NOW + timedelta(days=30))
    by_date = ProgramConfig(reward="voucher", voucher_valid_days=None,
                            voucher_expires_on=date(2026, 12, 31))  # fmt: skip
    assert rewards.voucher_window(by_date, NOW)[1].date() == date(2026, 12, 31)  # type: ignore[union-attr]
    both = ProgramConfig(
        reward="voucher",
        voucher_valid_days=90,
        voucher_expires_on=date(2026, 12, 1),
        activation_delay_hours=2,
    )
    start, end = rewards.voucher_window(both, NOW)
    assert start == NOW + timedelta(hours=2) and end is not None and end.date() == date(2026, 12, 1)


def test_reward_states_issued_active_redeemed_expired() -> None:
    start, end = NOW + timedelta(hours=1), NOW + timedelta(days=1)
    assert rewards.reward_state("issued", start, end, NOW) == "issued"
    assert rewards.reward_state("issued", start, end, start) == "active"
    assert rewards.reward_state("issued", start, end, end) == "expired"
    assert rewards.reward_state("redeemed", start, end, end + timedelta(days=9)) == "redeemed"


def test_lottery_draws_by_the_random_source_with_extra_tries_and_a_budget() -> None:
    cfg = ProgramConfig(
        reward="lottery",
        lottery_odds=[
            LotteryOdd(outcome="gift", weight=1),
            LotteryOdd(outcome="voucher", weight=1),
            LotteryOdd(outcome="extra_try", weight=1),
            LotteryOdd(outcome="nothing", weight=1),
        ],
    )
    assert rewards.grant_for_goal(cfg, Scripted(["voucher"]), None).kind == "voucher"
    g = rewards.grant_for_goal(cfg, Scripted(["extra_try", "gift"]), None)
    assert (g.kind, g.draws) == ("gift", 2)
    g = rewards.grant_for_goal(cfg, Scripted(["extra_try"]), None)
    assert (g.kind, g.draws) == ("nothing", rewards.MAX_TRIES)
    assert rewards.grant_for_goal(cfg, Scripted(["gift"]), 0).kind == "nothing"
    seeded = [rewards.grant_for_goal(cfg, random.Random(3), None).kind for _ in range(3)]
    assert seeded == [rewards.grant_for_goal(cfg, random.Random(3), None).kind] * 3


def test_reward_codes_are_typed_forgivingly_and_refuse_garbage() -> None:
    code = rewards.new_reward_code()
    assert rewards.normalize_reward_code(code.lower().replace("-", " ")) == code
    for bad in ("", "0000-0000-0000", "ABCD", "x" * 400):
        try:
            rewards.normalize_reward_code(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


async def _goal(cloud: Cloud, card: str, oid: str) -> None:
    res = await cloud.post_events([event("order.stamped", order(oid, 10, {"card": card}))])
    assert res[0]["status"] == "applied"


async def test_given_gift_program_then_goal_issues_gift_and_extra_stamps_carry_over(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("gift@example.com")
    await cloud.post_events([event("order.stamped", order("G-1", 13, {"card": c["card_code"]}))])
    card = await cloud.card(c["card_code"])
    assert card["balance"] == 3
    assert [(r["kind"], r["state"]) for r in card["rewards"]] == [("gift", "active")]


async def test_given_voucher_program_then_lifecycle_issued_active_redeemed_expired(
    cloud: Cloud,
) -> None:
    await cloud.set_program(rule="per_order", goal=10, reward="voucher", voucher_valid_days=3,
                            activation_delay_hours=1)  # fmt: skip
    c = await cloud.customer("v@example.com")
    await _goal(cloud, c["card_code"], "V-1")
    first = (await cloud.card(c["card_code"]))["rewards"][0]
    assert first["state"] == "issued" and first["kind"] == "voucher"
    url = f"/v1/vouchers/{first['code']}/redeem"
    early = await cloud.http.post(url, headers=cloud.admin())
    assert early.status == 409 and (await early.json())["error"]["code"] == "not_active"
    cloud.clock.advance(hours=1)
    ok = await cloud.http.post(url, headers=cloud.device())
    assert ok.status == 200 and (await ok.json())["state"] == "redeemed"
    assert (await cloud.http.post(url, headers=cloud.admin())).status == 409
    await _goal(cloud, c["card_code"], "V-2")
    cloud.clock.advance(days=3, hours=2)
    card = await cloud.card(c["card_code"])
    states = {r["code"]: r["state"] for r in card["rewards"]}
    assert states[first["code"]] == "redeemed" and sorted(states.values()) == [
        "expired",
        "redeemed",
    ]
    second = next(code for code, s in states.items() if s == "expired")
    late = await cloud.http.post(f"/v1/vouchers/{second}/redeem", headers=cloud.admin())
    assert late.status == 410 and (await late.json())["error"]["code"] == "expired"


async def test_given_voucher_with_a_fixed_end_date_then_it_expires_after_that_day(
    cloud: Cloud,
) -> None:
    end = (START + timedelta(days=1)).date().isoformat()
    await cloud.set_program(rule="per_order", goal=10, reward="voucher",
                            voucher_valid_days=None, voucher_expires_on=end)  # fmt: skip
    c = await cloud.customer("d@example.com")
    await _goal(cloud, c["card_code"], "D-1")
    reward = (await cloud.card(c["card_code"]))["rewards"][0]
    assert reward["expires_at"].startswith(end)
    cloud.clock.advance(days=1, hours=11)
    assert (await cloud.card(c["card_code"]))["rewards"][0]["state"] == "active"
    cloud.clock.advance(hours=1)
    assert (await cloud.card(c["card_code"]))["rewards"][0]["state"] == "expired"


async def test_given_lottery_with_injected_random_then_outcomes_follow_it_within_budget(
    store: Store,
) -> None:
    clock = Clock()
    rng = Scripted(["extra_try", "voucher", "nothing", "gift", "gift"])
    http, link = await start_cloud(store, clock, rng, reward="lottery")
    try:
        cloud = Cloud(http, store, clock, link, rng)
        await cloud.set_program(
            rule="per_order",
            goal=10,
            reward="lottery",
            lottery_budget=2,
            lottery_odds=[
                {"outcome": o, "weight": 1} for o in ("gift", "voucher", "extra_try", "nothing")
            ],
        )
        c = await cloud.customer("lucky@example.com")
        for i in range(4):
            await _goal(cloud, c["card_code"], f"L-{i}")
        got = sorted(r["kind"] for r in (await cloud.card(c["card_code"]))["rewards"])
        assert got == ["gift", "voucher"]  # extra try then voucher; nothing; gift; budget spent
    finally:
        await http.close()
