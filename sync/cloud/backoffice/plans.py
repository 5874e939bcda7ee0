"""Plans and their limits (pure): card operations a month and staff seats.

A business without a plan row is self-hosted: no limit. ``free`` allows 100 card operations a
calendar month (in the business's time zone) and one staff seat; ``paid`` has the limits the
operator set. Card operations are counted as the seed counts them: stamps issued, vouchers
issued (each code the back office makes counts as one), vouchers and gifts redeemed. A stamp
taken at a till is never refused for the plan: it is applied and the overrun shows in the usage.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sync.cloud.errors import StoreError

PlanName = Literal["self-hosted", "free", "paid"]
FREE_OPS = 100
FREE_SEATS = 1


class OverLimit(StoreError):
    """The plan does not allow this admin action (HTTP 402, code ``plan_limit``)."""

    status = 402
    code = "plan_limit"


@dataclass(frozen=True)
class Plan:
    """A business's plan; ``None`` limits are unlimited."""

    name: PlanName
    ops_limit: int | None
    seats_limit: int | None


SELF_HOSTED = Plan("self-hosted", None, None)


def plan_named(name: PlanName, ops: int | None = None, seats: int | None = None) -> Plan:
    """The plan ``name`` (``paid`` takes its limits; ``free`` has the fixed ones)."""
    if name == "free":
        return Plan("free", FREE_OPS, FREE_SEATS)
    if name == "paid":
        return Plan("paid", ops, seats)
    return SELF_HOSTED


def month_window(at: datetime, timezone: str) -> tuple[datetime, datetime, str]:
    """The calendar month holding ``at`` in ``timezone``: its start and end (aware UTC) and
    its name (``2026-12``)."""
    local = at.astimezone(ZoneInfo(timezone))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + timedelta(days=32)).replace(day=1)
    # replace() keeps the offset of ``at``; re-localise so a DST change inside the month counts
    tz = ZoneInfo(timezone)
    start = start.replace(tzinfo=None).replace(tzinfo=tz)
    nxt = nxt.replace(tzinfo=None).replace(tzinfo=tz)
    utc = ZoneInfo("UTC")
    return start.astimezone(utc), nxt.astimezone(utc), f"{start:%Y-%m}"


def check_ops(plan: Plan, used: int, wanted: int, what: str) -> None:
    """Refuse ``wanted`` more admin-made operations over the plan (``OverLimit`` says why)."""
    if plan.ops_limit is None or used + wanted <= plan.ops_limit:
        return
    left = max(plan.ops_limit - used, 0)
    raise OverLimit(
        f"the {plan.name} plan allows {plan.ops_limit} card operations a month; "
        f"{used} are used this month, so {what} ({wanted}) does not fit ({left} left). "
        "Stamps at the till keep working; upgrade the plan or wait for next month.",
        field="count",
    )


def check_seats(plan: Plan, seats: int) -> None:
    """Refuse one more staff seat (device key) over the plan."""
    if plan.seats_limit is None or seats < plan.seats_limit:
        return
    raise OverLimit(
        f"the {plan.name} plan allows {plan.seats_limit} staff seat(s) and {seats} are in use; "
        "revoke a key or upgrade the plan",
        field="label",
    )
