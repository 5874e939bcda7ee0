"""Figures per day in a branch's time zone (pure): counting dated facts into days and devices."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sync.cloud.models import Counts, DayCounts

MAX_DAYS = 366
Fact = tuple[str, int | None, int, int]  # (counter name, device id, time in us, amount)


def day_bounds(first: date, last: date, tz: str) -> tuple[int, int]:
    """The UTC microsecond range ``[start, end)`` of the local days ``first..last``."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time.min, zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(UTC)
    return int(start.timestamp() * 1_000_000), int(end.timestamp() * 1_000_000)


def local_day(us: int, tz: str) -> date:
    """The local date of a stored time."""
    return datetime.fromtimestamp(us / 1_000_000, ZoneInfo(tz)).date()


def tally(
    facts: Iterable[Fact], first: date, last: date, tz: str
) -> tuple[list[DayCounts], Counts, dict[int, tuple[list[DayCounts], Counts]]]:
    """Per-day figures (every day listed, zeros too), the total, and the same per device."""
    per: dict[int | None, dict[date, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    for name, device, us, amount in facts:
        day = local_day(us, tz)
        if first <= day <= last:
            per[None][day][name] += amount
            if device is not None:
                per[device][day][name] += amount

    def days_of(table: dict[date, dict[str, int]]) -> tuple[list[DayCounts], Counts]:
        out = []
        total: dict[str, int] = defaultdict(int)
        day = first
        while day <= last:
            counts = table.get(day, {})
            out.append(DayCounts(day=day, **counts))
            for k, v in counts.items():
                total[k] += v
            day += timedelta(days=1)
        return out, Counts(**total)

    days, total = days_of(per[None])
    devices = {d: days_of(t) for d, t in per.items() if d is not None}
    return days, total, devices
