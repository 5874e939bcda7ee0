"""The tests' one clock: aware UTC, moved only by the test, readable as a datetime or seconds."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.clock import START, Clock


def test_given_a_clock_when_advanced_then_datetime_and_seconds_move_together() -> None:
    clock = Clock()
    assert clock() == START == clock.now
    assert clock.epoch() == START.timestamp() == clock.monotonic()
    assert clock.advance(3) == START + timedelta(seconds=3)
    clock.advance(hours=1, seconds=0.5)
    assert clock() == START + timedelta(hours=1, seconds=3.5)
    assert clock.epoch() == START.timestamp() + 3603.5


def test_given_a_clock_when_set_then_it_holds_aware_utc_only() -> None:
    clock = Clock()
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert clock() == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert clock().tzinfo is UTC
    clock.now += timedelta(days=31)
    assert clock() == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        clock.now = datetime(2026, 12, 1, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        Clock(datetime(2026, 12, 1))
