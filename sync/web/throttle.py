"""Per-client throttles against guessing: a small sliding-window counter of failed attempts.

Where a guess is possible (card-link signatures, admin keys at sign-in, bearer keys, claim
tokens, six-digit customer numbers) each failure is counted per client; past ``limit``
failures within ``window_s`` the client is answered 429 with ``Retry-After`` until the oldest
failure leaves the window, whatever it sends, right or wrong. Successes are not counted: a
shop's till is never slowed by its own traffic.

Pure bookkeeping over a clock passed in; memory is bounded by ``max_clients`` (the oldest
client is forgotten first) and by ``limit`` timestamps per client.
"""

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web


class Throttle:
    """At most ``limit`` failures per client within ``window_s`` seconds."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 50_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max = max_clients
        self._fails: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: it may now)."""
        fails = self._fails.get(client)
        if fails is None:
            return 0.0
        now = self._clock()
        while fails and fails[0] <= now - self.window_s:
            fails.popleft()
        if not fails:
            del self._fails[client]
            return 0.0
        if len(fails) < self.limit:
            return 0.0
        return fails[0] + self.window_s - now

    def fail(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        fails = self._fails.pop(client, None)
        if fails is None:
            fails = deque(maxlen=self.limit)
            while len(self._fails) >= self._max:
                del self._fails[next(iter(self._fails))]
        fails.append(self._clock())
        self._fails[client] = fails  # (re)inserted last: the oldest client is forgotten first

    def check(self, client: str) -> None:
        """Raise 429 (``Retry-After`` in whole seconds) if ``client`` is over its limit."""
        wait = self.retry_after(client)
        if wait > 0:
            raise web.HTTPTooManyRequests(headers={"Retry-After": str(max(1, math.ceil(wait)))})


@dataclass
class Guesses:
    """One throttle per kind of guess a service can be asked (failures per client)."""

    keys: Throttle = field(default_factory=lambda: Throttle(20, 60.0))  # bearer keys, tokens
    sign_in: Throttle = field(default_factory=lambda: Throttle(10, 300.0))  # sign-in forms
    links: Throttle = field(default_factory=lambda: Throttle(20, 300.0))  # card signatures
    claims: Throttle = field(default_factory=lambda: Throttle(20, 300.0))  # receipt tokens
    lookups: Throttle = field(default_factory=lambda: Throttle(60, 300.0))  # misses of ?q=
    forwarded_for: bool = False  # behind a reverse proxy that sets X-Forwarded-For


GUESSES = web.AppKey("guesses", Guesses)


def client_of(request: web.Request) -> str:
    """Who is guessing: the peer address, or the address the reverse proxy in front saw
    (the last ``X-Forwarded-For`` entry, only when the service is told it has a proxy)."""
    if request.app[GUESSES].forwarded_for:
        forwarded = request.headers.getall("X-Forwarded-For", [])
        if forwarded:
            return forwarded[-1].rpartition(",")[2].strip() or "unknown"
    return request.remote or "unknown"


def check(request: web.Request, throttle: Throttle) -> str:
    """429 if this request's client is over ``throttle``; else the client, to ``fail`` later."""
    client = client_of(request)
    throttle.check(client)
    return client


__all__ = ["GUESSES", "Guesses", "Throttle", "check", "client_of"]
