"""Per-client throttles against guessing: a small sliding-window counter of failed attempts.

Where a guess is possible (card-link signatures, admin keys at sign-in, bearer keys, claim
tokens, six-digit customer numbers) each failure is counted per client; past ``limit``
failures within ``window_s`` the client is answered 429 with ``Retry-After`` until the oldest
failure leaves the window, whatever it sends, right or wrong. Successes are not counted: a
shop's till is never slowed by its own traffic.

Pure bookkeeping over a clock passed in; memory is bounded by ``max_clients`` (the oldest
client is forgotten first) and by ``limit`` timestamps per client.

Several processes behind one load balancer count separately, but a block is shared: when a
client is blocked here, ``on_block`` is told (the cloud sends it to its other processes,
``sync/cloud/shared_throttles.py``), and a block heard from elsewhere (``block``) refuses the
client here too until it ends. ``Guesses.heard``/``Guesses.share`` carry them as text.
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
        self._blocked: dict[str, float] = {}  # client -> end of a block heard from elsewhere
        # told (client, seconds) when a client becomes blocked here
        self.on_block: Callable[[str, float], None] | None = None

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: it may now)."""
        return max(self._own_wait(client), self._heard_wait(client))

    def _own_wait(self, client: str) -> float:
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

    def _heard_wait(self, client: str) -> float:
        until = self._blocked.get(client)
        if until is None:
            return 0.0
        wait = until - self._clock()
        if wait <= 0:
            del self._blocked[client]
            return 0.0
        return wait

    def fail(self, client: str) -> None:
        """Count one failed attempt of ``client``; if that blocks it, tell ``on_block``."""
        fails = self._fails.pop(client, None)
        if fails is None:
            fails = deque(maxlen=self.limit)
            while len(self._fails) >= self._max:
                del self._fails[next(iter(self._fails))]
        fails.append(self._clock())
        self._fails[client] = fails  # (re)inserted last: the oldest client is forgotten first
        if self.on_block is not None and len(fails) >= self.limit:
            self.on_block(client, self._own_wait(client))

    def block(self, client: str, seconds: float) -> None:
        """Refuse ``client`` for ``seconds`` (a block heard from another process)."""
        if not 0 < seconds <= self.window_s:
            return
        self._blocked.pop(client, None)
        while len(self._blocked) >= self._max:
            del self._blocked[next(iter(self._blocked))]
        self._blocked[client] = self._clock() + seconds

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
    heard_blocks: int = 0  # blocks heard from other processes (``/metrics``)

    def by_name(self) -> dict[str, Throttle]:
        """Each throttle by its field's name (the name a shared block travels under)."""
        return {"keys": self.keys, "sign_in": self.sign_in, "links": self.links,
                "claims": self.claims, "lookups": self.lookups}  # fmt: skip

    def share(self, send: Callable[[str], None] | None) -> None:
        """Hand every block made here to ``send`` as text (``heard`` reads it); ``None``
        stops."""
        for name, throttle in self.by_name().items():
            throttle.on_block = None if send is None else _sender(name, send)

    def heard(self, text: str) -> None:
        """A block made by another process (``share``'s text): refuse the client here too
        until it ends. Text that is not one is ignored."""
        name, _, rest = text.partition(" ")
        seconds, _, client = rest.partition(" ")
        throttle = self.by_name().get(name)
        try:
            wait = float(seconds)
        except ValueError:
            return
        if throttle is not None and client and math.isfinite(wait):
            throttle.block(client, wait)
            self.heard_blocks += 1


MAX_SHARED = 4000  # characters of a shared block (a notification's payload is at most 8000 bytes)


def _sender(name: str, send: Callable[[str], None]) -> Callable[[str, float], None]:
    def on_block(client: str, seconds: float) -> None:
        text = f"{name} {seconds:.3f} {client}"
        if len(text) <= MAX_SHARED:  # a longer "client" is an X-Forwarded-For made to be one
            send(text)

    return on_block


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
