"""Times as a person at the branch reads them: in the branch's time zone, formatted plainly.

Inside, time is timezone-aware UTC; pages and receipts show it through ``local_text`` only,
formatted by ``sync.web.locale_format`` in the reader's language.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sync.web.locale_format import moment_text as clock_text
from sync.web.locale_format import zone as zone


def local_text(
    moment: datetime | float | str, tz: ZoneInfo, *, seconds: bool = False, lang: str = "en"
) -> str:
    """``moment`` (aware datetime, epoch seconds or ISO text; naive means UTC) in ``tz`` as a
    reader of ``lang`` writes it: ``07.12.26, 22:15`` (de), ``12/7/26, 10:15 PM`` (en)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return clock_text(moment.astimezone(tz), lang, seconds=seconds)
