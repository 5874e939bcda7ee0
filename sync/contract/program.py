"""The one stamp program (pure): its fields, their limits, and how many stamps a check earns.

``Program`` is the only place the program's fields and limits are declared. Its views derive
from it and add only what is theirs: the agent's ``[program]`` settings
(``config.agent.ProgramSettings``), the wire ``ProgramState`` the cloud sends agents
(``sync.contract.events``), and the cloud's stored and API ``ProgramConfig``
(``sync.cloud.models``). A view that needs a field required or with another default names the
field again with the same constrained type below, never with limits of its own.
"""

from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sync.contract.limits import (
    CURRENCY_PATTERN,
    MAX_GOAL,
    MAX_STAMPS_PER_CHECK,
    MAX_STAMPS_PER_ORDER,
    MAX_STEP,
    RuleName,
)

Step = Annotated[Decimal, Field(gt=0, le=MAX_STEP, allow_inf_nan=False)]
"""Currency units per stamp under ``by_amount``."""
StampsPerOrder = Annotated[int, Field(ge=0, le=MAX_STAMPS_PER_ORDER)]
MinTotal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
MaxStampsPerOrder = Annotated[int, Field(ge=0, le=MAX_STAMPS_PER_ORDER)]
Goal = Annotated[int, Field(ge=1, le=MAX_GOAL)]
ProgramCurrency = Annotated[str, Field(pattern=CURRENCY_PATTERN)]

PROGRAM_FIELDS = (
    "rule",
    "step",
    "stamps_per_order",
    "min_total",
    "max_stamps_per_order",
    "goal",
    "currency",
    "pos_product",
)
"""The fields every view shares, in the order they are written."""


Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ProductName = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class PosProduct(BaseModel):
    """The POS line a reward is put through as (at zero price): stock and shift balance match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    name: ProductName


class Program(BaseModel):
    """A stamp-card design: the earning rule and the goal."""

    model_config = ConfigDict(frozen=True)

    rule: RuleName = "by_amount"
    step: Step = Decimal("10")
    stamps_per_order: StampsPerOrder = 1
    min_total: MinTotal | None = None
    max_stamps_per_order: MaxStampsPerOrder | None = None
    goal: Goal = 10
    currency: ProgramCurrency = "EUR"
    pos_product: PosProduct | None = None  # what a reward is rung up as at the till

    @classmethod
    def of(cls, view: "Program") -> "Program":
        """The plain program of any view (settings, wire state, cloud config)."""
        if type(view) is Program:
            return view
        return Program.model_validate(program_fields(view))


def program_fields(view: Program) -> dict[str, Any]:
    """The shared fields of a program view, as values (not re-validated)."""
    return {name: getattr(view, name) for name in PROGRAM_FIELDS}


def stamps_cap(program: Program) -> int:
    """The most stamps one check may earn under ``program``."""
    named = program.max_stamps_per_order
    return min(MAX_STAMPS_PER_CHECK if named is None else named, MAX_STAMPS_PER_ORDER)


def stamps_for(program: Program, total: Decimal) -> int:
    """Stamps earned by a check of ``total`` (never negative, monotone in the total).

    ``per_order`` gives ``stamps_per_order`` for any check at or above ``min_total``;
    ``by_amount`` gives ``floor(total / step)``, both capped by ``stamps_cap`` (the program's
    ``max_stamps_per_order``, or ``MAX_STAMPS_PER_CHECK``).
    """
    if not total.is_finite() or total < 0:
        raise ValueError("total must be a finite amount >= 0")
    if program.min_total is not None and total < program.min_total:
        return 0
    if program.rule == "per_order":
        stamps = program.stamps_per_order
    else:
        stamps = int((total / program.step).to_integral_value(rounding=ROUND_FLOOR))
    return max(min(stamps, stamps_cap(program)), 0)
