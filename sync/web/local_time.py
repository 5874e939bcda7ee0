"""Times as a person at the branch reads them: in the branch's time zone, formatted plainly.

Inside, time is timezone-aware UTC; pages and receipts show it through ``local_text`` only, so
making it locale-aware is one change here.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo:
    """The named IANA time zone, or UTC for a missing or unknown name."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_text(moment: datetime | float | str, tz: ZoneInfo, *, seconds: bool = False) -> str:
    """``moment`` (aware datetime, epoch seconds or ISO text; naive means UTC) as
    ``2026-12-07 22:15`` in ``tz``."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
