"""Reward logic (pure): goal reached, lottery draws, voucher windows and states, voids.

The rules, as a shop owner reads them:

- **Reaching the goal.** Stamps are credited to the card's current cycle. Each time the balance
  reaches the program's ``goal`` one reward is issued and ``goal`` stamps are consumed; the extra
  stamps carry over to the next cycle (9 + 3 with goal 10 gives one reward and a balance of 2).
- **Gift** (``reward = "gift"``): issued with a code the cashier redeems once when handing it over.
- **Voucher**: ``issued -> active -> redeemed -> expired``. Active from ``valid_from`` (issue time
  plus ``activation_delay_hours``; with 0 it is active at once) until ``expires_at`` (issue time
  plus ``voucher_valid_days`` and/or the fixed ``voucher_expires_on`` date, whichever is first).
  Redeeming moves an active voucher to ``redeemed`` exactly once. An unredeemed voucher past its
  expiry reads as ``expired`` (computed on read); a redeemed voucher stays redeemed forever.
- **Lottery moment**: reaching the goal draws one outcome by the configured weights: a gift, a
  voucher, an extra try (draw again, at most ``MAX_TRIES`` draws in all), or nothing. Once the
  branch's ``lottery_budget`` (prizes given in total) is spent, every draw gives nothing.
- **Voids and refunds.** A void takes back the stamps the check credited, but only from the
  current cycle and never below zero: ``taken = min(credited, balance)``. Rewards already issued
  are never taken back, whether redeemed or not: a redeemed reward stays redeemed, and an issued
  one stays valid. (A shop that wants to cancel such a reward does it by hand; the ledger keeps
  the void and the reward side by side so the figures show it.)
"""

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from sync.cloud.models import ProgramConfig
from sync.contract.program import PosProduct
from sync.contract.reward_code import CODE_ALPHABET, CODE_LEN
from sync.contract.reward_code import normalize_reward_code as normalize_reward_code

MAX_TRIES = 3

GrantKind = Literal["gift", "voucher", "nothing"]


@dataclass(frozen=True)
class Grant:
    """What one completed card cycle gives."""

    kind: GrantKind
    name: str
    draws: int  # lottery draws made (0 for a plain gift or voucher)
    pos_product: PosProduct | None = None


def settle(balance: int, goal: int) -> tuple[int, int]:
    """Balance after consuming full cycles, and how many cycles were completed."""
    if goal < 1:
        raise ValueError("goal must be at least 1")
    completed, rest = divmod(max(balance, 0), goal)
    return rest, completed


def takeback(credited: int, balance: int) -> int:
    """Stamps a void takes back: never more than credited, never below zero in this cycle."""
    return max(0, min(credited, balance))


def grant_for_goal(config: ProgramConfig, rng: random.Random, budget_left: int | None) -> Grant:
    """The reward for one completed cycle; ``budget_left`` is the lottery's prizes still allowed."""
    if config.reward != "lottery":
        return Grant(
            kind=config.reward, name=config.reward_name, draws=0, pos_product=config.pos_product
        )
    outcomes = [o.outcome for o in config.lottery_odds]
    weights = [o.weight for o in config.lottery_odds]
    for tries in range(1, MAX_TRIES + 1):
        outcome = rng.choices(outcomes, weights=weights, k=1)[0]
        if outcome == "extra_try":
            continue
        if outcome == "nothing" or (budget_left is not None and budget_left <= 0):
            return Grant(kind="nothing", name="No prize this time", draws=tries)
        kind: GrantKind = "gift" if outcome == "gift" else "voucher"
        odd = next(o for o in config.lottery_odds if o.outcome == outcome)
        product = odd.pos_product or config.pos_product
        return Grant(kind=kind, name=config.reward_name, draws=tries, pos_product=product)
    return Grant(kind="nothing", name="No prize this time", draws=MAX_TRIES)


def voucher_window(config: ProgramConfig, now: datetime) -> tuple[datetime, datetime | None]:
    """``(valid_from, expires_at)`` of a voucher issued at ``now`` (gifts never expire)."""
    valid_from = now + timedelta(hours=config.activation_delay_hours)
    ends: list[datetime] = []
    if config.voucher_valid_days is not None:
        ends.append(now + timedelta(days=config.voucher_valid_days))
    if config.voucher_expires_on is not None:
        ends.append(datetime.combine(config.voucher_expires_on, time.max, tzinfo=UTC))
    return valid_from, (min(ends) if ends else None)


def reward_state(
    stored: str, valid_from: datetime, expires_at: datetime | None, now: datetime
) -> Literal["issued", "active", "redeemed", "expired"]:
    """The state a reward reads as at ``now``; only ``redeemed`` is ever stored as final."""
    if stored == "redeemed":
        return "redeemed"
    if expires_at is not None and now >= expires_at:
        return "expired"
    if now < valid_from:
        return "issued"
    return "active"


def new_reward_code() -> str:
    """A random redeem code like ``7KQ2-MX9D-H4TP`` (60 bits)."""
    # 32 symbols: each random byte's low 5 bits pick one without bias
    raw = secrets.token_bytes(CODE_LEN).translate(_CODE_BYTES).decode("ascii")
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


_CODE_BYTES = bytes(ord(CODE_ALPHABET[b & 31]) for b in range(256))
