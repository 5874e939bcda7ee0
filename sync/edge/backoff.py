"""Exponential backoff with full jitter for the link to the cloud (pure: no clock, no sleep).

The delay after the n-th consecutive failure is uniform in ``[0, min(cap, base * 2**(n-1))]``
("full jitter", tenacity's ``wait_random_exponential`` curve), so a hundred agents
that lost the internet at the same moment do not all knock on the cloud at the same second when
it comes back. The random source is injected so tests can pin it.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import RetryCallState, Retrying, wait_exponential


def full_jitter(failures: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds to wait after ``failures`` consecutive failures (0 when there were none).

    The window is tenacity's: a ``Retrying`` controller with ``wait_exponential`` asked for its
    wait at attempt ``failures``, on the call state tenacity itself makes for a retry loop
    without a wrapped function (which also keeps the number finite after days offline). The
    draw inside it uses ``rand`` rather than the global random module, which is all that
    ``wait_random_exponential`` adds, so that tests can pin it.
    """
    if failures <= 0:
        return 0.0
    retrying = Retrying(wait=wait_exponential(multiplier=base, max=cap))
    state = RetryCallState(retrying, fn=None, args=(), kwargs={})
    state.attempt_number = failures
    return rand() * retrying.wait(state)


@dataclass
class Backoff:
    """Counts consecutive failures and says how long to wait before the next attempt."""

    base: float = 1.0
    cap: float = 300.0
    rand: Callable[[], float] = field(default=random.random)
    failures: int = 0

    def failed(self) -> float:
        """Record one more failure; the delay before trying again."""
        self.failures += 1
        return full_jitter(self.failures, base=self.base, cap=self.cap, rand=self.rand)

    def succeeded(self) -> None:
        """The link works again: the next failure starts from the bottom of the curve."""
        self.failures = 0
