"""Dates, times, numbers and money as a reader of ``lang`` expects them (Babel, CLDR data), in
the branch's time zone: never raw ISO or UTC on a page, receipt or PDF a person reads."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal, format_percent

from sync.contract.languages import DEFAULT_LANGUAGE, LANGUAGES
from sync.web.texts import supported


def _locale(lang: str) -> str:
    return supported(lang) or DEFAULT_LANGUAGE


def _in_zone(value: datetime, tz: str | None) -> datetime:
    # no zone named: the moment is already in the branch's zone
    return value.astimezone(zone(tz)) if tz else value


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``, or UTC for an unknown one (a display must not fail)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def money(amount: Decimal, currency: str, lang: str) -> str:
    """``12,50 €`` (de), ``€12.50`` (en), ``12,50 €`` (pl), ``12,50 EUR`` (uk)."""
    return format_currency(amount, currency.upper(), locale=_locale(lang))


def number(value: int | Decimal, lang: str) -> str:
    """``1.234`` (de), ``1,234`` (en), ``1 234`` (pl, uk)."""
    return format_decimal(value, locale=_locale(lang))


def day(
    value: date | datetime,
    lang: str,
    tz: str | None = None,
    width: Literal["short", "medium", "long"] = "medium",
) -> str:
    """A calendar day (a moment first put in ``tz``, if named): ``07.12.2026``, ``7 gru 2026``."""
    if isinstance(value, datetime):
        value = _in_zone(value, tz).date()
    return format_date(value, width, locale=_locale(lang))


def moment(value: datetime, lang: str, tz: str | None = None) -> str:
    """A moment in the branch's zone: ``07.12.2026, 22:15`` (de), ``Dec 7, 2026, 10:15 PM`` (en)."""
    return format_datetime(_in_zone(value, tz), "short", locale=_locale(lang))


def moment_text(value: datetime, lang: str, *, seconds: bool = False) -> str:
    """An aware moment (already in the branch's zone) with or without its seconds."""
    return format_datetime(value, "medium" if seconds else "short", locale=_locale(lang))


def clock(value: datetime, lang: str, tz: str | None = None) -> str:
    """The time of day in the branch's zone: ``22:15`` (de), ``10:15 PM`` (en)."""
    return format_time(_in_zone(value, tz), "short", locale=_locale(lang))


def percent(value: float, lang: str) -> str:
    """A share as a whole percentage: ``42 %`` (de), ``42%`` (en)."""
    return format_percent(value, locale=_locale(lang))


def short_day(value: date, lang: str) -> str:
    """A day without its year in digits, for chart axes: ``7.12.`` (de), ``12/7`` (en)."""
    return format_skeleton("Md", value, locale=_locale(lang))


def month(value: str, lang: str) -> str:
    """A ``YYYY-MM`` month in words: ``Dezember 2026`` (de), ``grudzień 2026`` (pl)."""
    try:
        first = date.fromisoformat(f"{value}-01")
    except ValueError:
        return value
    return format_skeleton("yMMMM", first, locale=_locale(lang))


def _warm() -> None:
    """Load each language's CLDR data now: Babel reads it from disk on first use, which must
    not happen on the event loop (and costs one time, here, when the module is imported)."""
    sample = datetime(2026, 1, 2, 3, 4, tzinfo=zone("Europe/Berlin"))
    for lang in LANGUAGES:
        money(Decimal("1.5"), "EUR", lang)
        number(1, lang)
        percent(0.5, lang)
        day(sample, lang, "UTC")
        moment(sample, lang, "UTC")
        clock(sample, lang)
        short_day(sample.date(), lang)
        month("2026-01", lang)


_warm()
