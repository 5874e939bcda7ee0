"""Scanners double-read: the same code again within 2 s counts once (pure; ``now`` passed in)."""

DOUBLE_READ_S = 2.0


class Debouncer:
    """Remembers the last reading of each code per source; a repeat inside the window is one.

    The window slides: a card held under a scanner in continuous mode reads every few hundred
    milliseconds and still counts once, until it has been away for the whole window.
    """

    def __init__(self, window_s: float = DOUBLE_READ_S, max_keys: int = 1024) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._seen: dict[tuple[str, str], float] = {}

    def is_repeat(self, source: str, code: str, now: float) -> bool:
        """True if ``code`` was read by ``source`` less than the window ago (then it is ignored)."""
        key = (source, code)
        last = self._seen.get(key)
        self._seen[key] = now
        if len(self._seen) > self.max_keys:
            self._forget(now)
        return last is not None and 0 <= now - last < self.window_s

    def _forget(self, now: float) -> None:
        self._seen = {k: t for k, t in self._seen.items() if 0 <= now - t < self.window_s}
