"""Keys already checked by this process: a key's hash check and look-up done once, not per
request, revocation still honoured on the next request.

A device posting a few events every 20 s and pulling its state every minute made each request
pay a database look-up of its key (on SQLite a trip to the reader's thread, on PostgreSQL a pool
acquire and a round trip) before any work. Here a key found current is remembered by its
SHA-256 (never the key itself) with the ``Principal`` it stands for.

Revocation, in the order it reaches a cached key:

- through this process (``DELETE /v1/devices/{id}``, ``POST /v1/admin-key``): the entries go
  when the change commits, so the very next request looks the key up again and is refused;
- through another process on PostgreSQL: the revoking transaction sends a notification on
  ``KEYS_CHANNEL`` (``pg_notify``, delivered at its commit) that every cloud process listens to;
  while that listening connection is down, nothing is served from the cache;
- anything else (a CLI ``rotate-admin-key`` beside a running cloud on SQLite, a lost
  notification): within ``KEY_CACHE_S``, after which an entry is looked up again.

Unknown keys are never cached (each miss is a database look-up the guess throttle counts), and
the cache holds at most ``MAX_KEYS`` entries (the oldest go first).

What it saves is one look-up per request; ``bench/fleet.py`` (2026-12-07, loaded machine) could
not tell it from the noise on SQLite and put it at about 5% of the cloud's CPU per request on
PostgreSQL (``bench/README.md``).
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

from sync.cloud.store.tenancy import Principal

KEY_CACHE_S = 300.0
MAX_KEYS = 100_000
KEYS_CHANNEL = "stampedge_keys"


@dataclass
class KeyCacheStats:
    """What the cache did since the process started (``/metrics``)."""

    hits: int = 0
    misses: int = 0
    dropped: int = 0  # entries removed by a revocation or rotation


class KeyCache:
    """Key hash -> ``Principal`` for keys found current, each for at most ``ttl_s``."""

    def __init__(self, *, ttl_s: float = KEY_CACHE_S, max_keys: int = MAX_KEYS) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self.trusted = True  # False while revocations from elsewhere could go unheard
        self.stats = KeyCacheStats()
        self._known: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._known)

    def get(self, key_hash: str) -> Principal | None:
        """The principal of a key checked within ``ttl_s``, else ``None`` (a miss)."""
        known = self._known.get(key_hash) if self.trusted else None
        if known is not None and time.monotonic() - known[0] < self.ttl_s:
            self.stats.hits += 1
            return known[1]
        if known is not None:
            del self._known[key_hash]
        self.stats.misses += 1
        return None

    def put(self, key_hash: str, who: Principal, checked_at: float) -> None:
        """Remember a key found current by a look-up that started at ``checked_at``
        (``time.monotonic()``), unless a revocation came since it started."""
        if not self.trusted or checked_at < self._dropped_at:
            return
        self._known[key_hash] = (checked_at, who)
        self._known.move_to_end(key_hash)
        while len(self._known) > self.max_keys:
            self._known.popitem(last=False)

    _dropped_at = float("-inf")

    def drop(self, kind: str, ident: int) -> None:
        """Forget the device's key (``kind`` ``"sk"``) or the business's admin key (``"ak"``).

        A look-up that was under way when this came may have read the row before the
        revocation committed: ``put`` refuses what such a look-up found."""
        self._dropped_at = time.monotonic()
        gone = [
            h
            for h, (_, who) in self._known.items()
            if (kind == "sk" and who.kind == "device" and who.device_id == ident)
            or (kind == "ak" and who.kind == "admin" and who.business_id == ident)
        ]
        for h in gone:
            del self._known[h]
        self.stats.dropped += len(gone)

    def heard(self, payload: str) -> None:
        """A notification from another process: ``"sk:<device_id>"`` or ``"ak:<business_id>"``
        (anything else: everything is forgotten)."""
        kind, _, ident = payload.partition(":")
        if kind in ("sk", "ak") and ident.isdigit():
            self.drop(kind, int(ident))
        else:
            self.clear()

    def clear(self) -> None:
        """Forget every key."""
        self._dropped_at = time.monotonic()
        self.stats.dropped += len(self._known)
        self._known.clear()
