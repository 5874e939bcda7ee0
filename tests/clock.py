"""The one clock every test moves by hand.

The code under test takes its time as an injected callable: the agent, the printer service and
the cloud app want ``() -> datetime`` (timezone-aware UTC), the uploader and the cloud look-up
want ``() -> float`` seconds. One ``Clock`` serves both: call it for the datetime, pass
``clock.epoch`` (or ``clock.monotonic``) where seconds are wanted. Nothing here reads the real
time except an explicit ``Clock(START)`` the test chooses.
"""

from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _aware_utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"a test clock holds aware UTC datetimes, not naive {when!r}")
    return when.astimezone(UTC)


class Clock:
    """A clock the test moves by hand: ``clock()`` is now (aware UTC), ``clock.advance(...)``
    moves it on, ``clock.now = ...`` sets it, ``clock.epoch()`` is now in Unix seconds."""

    def __init__(self, start: datetime = START) -> None:
        self._now = _aware_utc(start)

    @property
    def now(self) -> datetime:
        """The current time, aware UTC."""
        return self._now

    @now.setter
    def now(self, when: datetime) -> None:
        self._now = _aware_utc(when)

    def __call__(self) -> datetime:
        """Now, for code that takes ``Callable[[], datetime]``."""
        return self._now

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Move on by ``seconds`` plus any ``timedelta`` keywords (``hours=1``); returns now.

        Going backwards (a negative step) is allowed: a wall clock set back is a case to test.
        """
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def epoch(self) -> float:
        """Now as Unix seconds, for code that takes ``Callable[[], float]`` like ``time.time``."""
        return self._now.timestamp()

    def monotonic(self) -> float:
        """Now as seconds for code that takes ``time.monotonic``: the same count as ``epoch``,
        which only moves when the test moves it."""
        return self._now.timestamp()

    def __repr__(self) -> str:
        return f"Clock({self._now.isoformat()})"
