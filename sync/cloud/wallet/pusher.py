"""The push worker: turns card changes into pushes from the durable queue (``wallet_pushes``).

Every change of a card raises its sequence number (stamps, claims, rewards, voids); the worker
queues a push for each changed card that has a pass (``passes_db.queue_changed_cards``), and
the app queues one directly for what does not raise it (a redeem, a program change). A queue
row is one pass: a burst of changes within ``push_delay_ms`` is one push. Each due row: the
pass's content is refreshed (a new ``updated_us`` if it says something else), APNs is told for
every registered device and the Google object is patched; a row leaves the queue only when all
went through (and was not queued again meanwhile), otherwise it is retried with backoff. A
device token APNs calls unregistered is dropped.

The worker wakes when this process wrote something, and polls every ``POLL_S`` for changes
other processes made on the same database (the loop: ``drain_loop.DrainLoop``). A voucher that
becomes usable or expires by the clock writes nothing: every ``SWEEP_S`` the passes with such a
reward are queued too. Due rows are leased to the worker that took them, so cloud processes
sharing a PostgreSQL database do not push the same change twice.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sync.cloud.book import to_us
from sync.cloud.drain_loop import DrainLoop
from sync.cloud.store import Store
from sync.cloud.wallet import google_objects, passes_db
from sync.cloud.wallet.apns import ApnsClient
from sync.cloud.wallet.contents import contents
from sync.cloud.wallet.google_api import GoogleWalletApi
from sync.cloud.wallet.pass_json import PassContent
from sync.cloud.wallet.passes_db import PassRow, PushRow
from sync.cloud.wallet.service import Wallet, next_updated_us, now_us

log = logging.getLogger(__name__)

POLL_S = 2.0
BATCH = 500
PARALLEL = 64  # passes pushed at once (APNs multiplexes them over one HTTP/2 connection)
MAX_ATTEMPTS = 12
LEASE_S = 60.0  # a batch's rows are this worker's for so long (then back to the queue)
SWEEP_S = 60.0  # rewards that start or expire by the clock are looked for this often
BACKOFF_CAP_S = 600.0
ERROR_PAUSE_S = 1.0  # after a failed step: one bad pass must not spin the worker


def backoff_s(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failures: 2, 4, 8 ... up to 10 minutes."""
    return float(min(BACKOFF_CAP_S, 2.0 ** max(1, attempts)))


class Pusher:
    """The worker; ``run()`` until cancelled."""

    def __init__(
        self,
        store: Store,
        wallet: Wallet,
        clock: Callable[[], datetime],
        apns: ApnsClient | None,
        google: GoogleWalletApi | None,
    ) -> None:
        self._store = store
        self._wallet = wallet
        self._clock = clock
        self._apns = apns
        self._google = google
        self.pushes_sent = 0
        apple = wallet.settings.apple
        self.delay_us = (apple.push_delay_ms if apple else 250) * 1000
        self._loop = DrainLoop(
            "wallet push worker", self.step, lambda: passes_db.next_due_us(store.db), now_us,
            poll_s=POLL_S, error_pause_s=ERROR_PAUSE_S,
        )  # fmt: skip

    @property
    def idle(self) -> bool:
        """Waiting for a change (between steps)."""
        return self._loop.idle

    def wake(self) -> None:
        """Something was written: look for changes now."""
        self._loop.wake()

    async def run(self) -> None:
        """Queue changes and push, forever."""
        await self._loop.run()

    async def step(self) -> bool:
        """Queue the changed cards, push what is due; ``True`` if a full batch was pushed."""
        db = self._store.db
        await passes_db.queue_changed_cards(db, now_us() + self.delay_us)
        await passes_db.queue_clock_changes(
            db, to_us(self._clock()), int(SWEEP_S * 1e6), now_us() + self.delay_us
        )
        rows = await passes_db.due_pushes(db, now_us(), BATCH, int(LEASE_S * 1e6))
        if not rows:
            return False
        serials = [r.serial for r in rows]
        found = await contents(self._store, self._wallet.public_url, serials, self._clock())
        # the new content is recorded (a new tag) before any device is told to fetch it
        changed: dict[int, list[tuple[str, int, str]]] = {}
        for serial, (stored, content) in found.items():
            digest = content.digest()
            if digest != stored.content_hash:
                changed.setdefault(stored.business_id, []).append(
                    (digest, next_updated_us(stored), serial)
                )
        for business_id, passes in changed.items():
            await passes_db.set_contents(db, business_id, passes)
        tokens = await passes_db.push_tokens(db, serials)
        gate = asyncio.Semaphore(PARALLEL)

        async def one(row: PushRow) -> tuple[PushRow, bool]:
            if row.serial not in found:  # no such pass, or its card was erased
                return row, True
            stored, content = found[row.serial]
            async with gate:
                return row, await self._push(row, stored, content, tokens.get(row.serial, []))

        done: dict[int, list[tuple[str, int]]] = {}
        for row, ok in await asyncio.gather(*(one(r) for r in rows)):
            if ok:
                done.setdefault(row.business_id, []).append((row.serial, row.version))
            elif row.attempts + 1 >= MAX_ATTEMPTS:
                log.warning("wallet: giving up pushing pass %s", row.serial)
                await passes_db.give_up(db, row.business_id, row.serial)
            else:
                due = now_us() + int(backoff_s(row.attempts + 1) * 1e6)
                await passes_db.retry_later(db, row.business_id, row, due)
        for business_id, pairs in done.items():
            await passes_db.pushed(db, business_id, pairs)
        return len(rows) == BATCH

    async def _push(
        self, row: PushRow, stored: PassRow, content: PassContent, tokens: list[str]
    ) -> bool:
        db = self._store.db
        ok = True
        if self._apns is not None:
            for token in tokens:
                outcome = await self._apns.push(token)
                if outcome == "unregistered":
                    await passes_db.drop_token(db, row.business_id, token)
                elif outcome == "retry":
                    ok = False
                else:
                    self.pushes_sent += 1
        if self._google is not None and stored.google and self._wallet.settings.google:
            section = self._wallet.settings.google
            patched = await self._google.patch(
                google_objects.object_id(section, row.serial),
                google_objects.object_fields(content),
            )
            ok = ok and patched != "retry"
        return ok
