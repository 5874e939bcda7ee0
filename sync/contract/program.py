"""Stamp rules (pure): how many stamps a paid check earns under a program."""

from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RuleName = Literal["per_order", "by_amount"]


class Program(BaseModel):
    """A stamp-card design: the earning rule and the goal."""

    model_config = ConfigDict(frozen=True)

    rule: RuleName = "by_amount"
    step: Decimal = Field(default=Decimal("10"), gt=0)
    stamps_per_order: int = Field(default=1, ge=0)
    min_total: Decimal | None = Field(default=None, ge=0)
    max_stamps_per_order: int | None = Field(default=None, ge=0)
    goal: int = Field(default=10, ge=1)
    currency: str = "EUR"


def stamps_for(program: Program, total: Decimal) -> int:
    """Stamps earned by a check of ``total`` (never negative, monotone in the total).

    ``per_order`` gives ``stamps_per_order`` for any check at or above ``min_total``;
    ``by_amount`` gives ``floor(total / step)``, both capped by ``max_stamps_per_order``.
    """
    if not total.is_finite() or total < 0:
        raise ValueError("total must be a finite amount >= 0")
    if program.min_total is not None and total < program.min_total:
        return 0
    if program.rule == "per_order":
        stamps = program.stamps_per_order
    else:
        stamps = int((total / program.step).to_integral_value(rounding=ROUND_FLOOR))
    if program.max_stamps_per_order is not None:
        stamps = min(stamps, program.max_stamps_per_order)
    return max(stamps, 0)
