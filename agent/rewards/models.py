"""Request and answer models of the agent's reward routes (and the ``rewards`` of a check)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sync.contract.events import CustomerRef, IssuedReward, OrderId, Till
from sync.contract.program import PosProduct

CheckStatus = Literal["pending", "applied", "rejected", "unknown"]


class CheckRewards(BaseModel):
    """What a check did on the customer's card, as the cloud answered it.

    ``status``: ``pending`` until the cloud has applied the check (``rewards`` empty then),
    ``applied``, ``rejected`` (dead-lettered), ``unknown`` (a check recorded before this
    release). ``stamps``/``balance``/``card_code`` only when a card was credited.
    """

    status: CheckStatus
    card_code: str | None = None
    stamps: int | None = None
    balance: int | None = None
    issued: list[IssuedReward] = []
    lottery: list[Literal["won", "nothing"]] = []


class RedeemRequest(BaseModel):
    """``POST /v1/rewards/{code}/redeem``: the check the reward goes on, and the till."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId | None = None
    till: Till | None = None


class RedeemAnswer(BaseModel):
    """A redeemed reward: the POS adds ``pos_product`` at zero price."""

    code: str
    kind: Literal["gift", "voucher"]
    title: str
    state: Literal["redeemed"] = "redeemed"
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    pos_product: PosProduct | None = None
    card_code: str | None = None
    order_id: str | None = None
    till: str | None = None
    redeemed_at: datetime
    source: Literal["cloud", "offline"]


class AvailableReward(BaseModel):
    """A reward on the customer's card, as the till may redeem it now (or not yet)."""

    code: str
    kind: Literal["gift", "voucher"]
    title: str
    state: Literal["issued", "active", "expired"]
    valid_from: datetime
    valid_until: datetime | None = None
    pos_product: PosProduct | None = None


class QuoteCustomer(BaseModel):
    """The identified customer of a quote."""

    card_code: str
    number: str
    name: str | None = None


class GoalReward(BaseModel):
    """What reaching the goal on this check would issue."""

    kind: Literal["gift", "voucher", "lottery"]
    title: str
    count: int  # cycles this check completes
    pos_product: PosProduct | None = None


class QuoteAnswer(BaseModel):
    """``POST /v1/orders/quote``: what this check would earn, nothing recorded."""

    order_id: str | None = None
    stamps: int
    rule: Literal["per_order", "by_amount"]
    customer: QuoteCustomer | None = None
    customer_ref: CustomerRef | None = None
    known: bool = False  # the customer was found (in the cloud or the cache)
    balance_before: int | None = None
    balance_after: int | None = None
    goal: int
    rewards_on_this_check: GoalReward | None = None
    available: list[AvailableReward] = []
    source: Literal["cloud", "cache"]
