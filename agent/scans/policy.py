"""The loyalty rules of scanning at the till (pure; every ``now`` is passed in, epoch seconds).

- ``PendingBook``: Autopilot's cards scanned at a till and waiting for the till's next check.
- ``cooldown_left``: the kiosk's "once per card per branch per cooldown".
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PendingScan:
    """A card scanned at a till's Autopilot scanner, waiting for that till's next check."""

    scan_id: str
    till: str | None
    kind: str  # "card" or "number"
    value: str
    scanned_at: float


class PendingBook:
    """At most one waiting card per till: a later scan at the same till replaces the earlier.

    A scan waits ``window_s``; an order recorded at or before ``scanned_at + window_s`` takes it.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._by_till: dict[str | None, PendingScan] = {}

    def put(self, scan: PendingScan) -> PendingScan | None:
        """Make ``scan`` the till's waiting card; return the one it replaced (another card)."""
        old = self._by_till.get(scan.till)
        self._by_till[scan.till] = scan
        if old is not None and (old.kind, old.value) != (scan.kind, scan.value):
            return old
        return None

    def take(self, till: str | None, now: float) -> PendingScan | None:
        """The till's waiting card if it is still inside its window; it leaves the book."""
        scan = self._by_till.get(till)
        if scan is None or not self._live(scan, now):
            return None
        del self._by_till[till]
        return scan

    def expired(self, now: float) -> list[PendingScan]:
        """Remove and return the scans whose window has passed."""
        gone = [s for s in self._by_till.values() if now > s.scanned_at + self.window_s]
        for s in gone:
            del self._by_till[s.till]
        return gone

    def waiting(self, till: str | None) -> bool:
        """True if a card waits at ``till`` (whatever its window)."""
        return till in self._by_till

    def next_deadline(self) -> float | None:
        """When the earliest waiting scan runs out (None if nothing waits)."""
        if not self._by_till:
            return None
        return min(s.scanned_at for s in self._by_till.values()) + self.window_s

    def __len__(self) -> int:
        return len(self._by_till)

    def _live(self, scan: PendingScan, now: float) -> bool:
        return scan.scanned_at <= now <= scan.scanned_at + self.window_s


def cooldown_left(last_stamped_at: float | None, now: float, cooldown_s: float) -> float:
    """Seconds until a card may be stamped again at the kiosk (0.0: it may now).

    A stamp from the future (the clock was set back) counts as just made, so turning the clock
    back never opens the gate early, and the wait is never more than one cooldown.
    """
    if last_stamped_at is None or cooldown_s <= 0:
        return 0.0
    elapsed = max(0.0, now - last_stamped_at)
    return max(0.0, cooldown_s - elapsed)
