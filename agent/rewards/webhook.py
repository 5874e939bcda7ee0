"""The POS webhook: a signed POST for each check whose rewards the cloud has answered.

``pos.webhook_url`` receives, once per applied check that credited a card, its rewards as JSON
(``WebhookBody``), signed ``X-Stampedge-Signature: sha256=<hex HMAC-SHA256 of the body under
pos.webhook_secret>``, with ``X-Stampedge-Delivery`` (the event id) for the POS to drop a repeat.
The result row is written with the batch's acks (``results.py``) with ``webhook = 'due'``; this
sender posts due rows, marks each ``sent`` after a 2xx and otherwise retries it with backoff
(full jitter, capped by ``pos.webhook_max_backoff_s``): a row is retried until the POS accepts
it, never lost to a restart, and never posted again after its ``sent`` is on disk (a crash
between the POS's 2xx and that write is the one case that sends it twice, with the same
delivery id).
"""

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import BaseModel

from agent.db import AgentDb, DbError
from agent.rewards.models import CheckRewards
from agent.rewards.results import with_effects
from config import AgentSettings
from sync.contract.events import EventEffects
from sync.edge.backoff import full_jitter
from sync.web.waiting import wait_set

log = logging.getLogger(__name__)
BATCH = 20
SIGNATURE = "X-Stampedge-Signature"
DELIVERY = "X-Stampedge-Delivery"


class WebhookBody(BaseModel):
    """What the POS receives: the check and what it did on the card."""

    event: str = "check.rewards"
    order_id: str | None
    event_id: str
    type: str
    applied_at: datetime
    rewards: CheckRewards


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes under the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(row: Any) -> bytes:
    """The JSON posted for one ``event_results`` row."""
    fx = EventEffects.model_validate_json(row["effects"])
    return (
        WebhookBody(
            order_id=row["ref"],
            event_id=row["event_id"],
            type=row["type"],
            applied_at=datetime.fromtimestamp(row["applied_at"], UTC),
            rewards=with_effects(fx),
        )
        .model_dump_json()
        .encode()
    )


DUE = (
    "SELECT event_id, ref, type, effects, applied_at, webhook_attempts FROM event_results "
    "INDEXED BY event_results_webhook WHERE webhook = 'due' AND webhook_next_at <= ? "
    "ORDER BY webhook_next_at, applied_at LIMIT ?"
)
SENT = "UPDATE event_results SET webhook = 'sent', webhook_error = NULL WHERE event_id = ?"
FAILED = (
    "UPDATE event_results SET webhook_attempts = webhook_attempts + 1, webhook_error = ?, "
    "webhook_next_at = ? WHERE event_id = ?"
)


class WebhookSender:
    """``run()``: posts due rewards to the POS; ``wake()`` when new ones are on disk."""

    def __init__(
        self,
        settings: AgentSettings,
        db: AgentDb,
        *,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
    ) -> None:
        pos = settings.pos
        self.url = pos.webhook_url
        self.secret = pos.webhook_secret.get_secret_value()
        self.timeout_s = pos.webhook_timeout_s
        self.cap_s = pos.webhook_max_backoff_s
        self.db = db
        self.clock = clock
        self.rand = rand
        self._wake = asyncio.Event()
        self.delivered = 0

    def wake(self) -> None:
        """New rows are due."""
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled: due rows now, then on ``wake`` or when the next retry is due."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as s:
            while True:
                self._wake.clear()
                try:
                    wait_s = await self.send_due(s)
                except DbError as err:
                    log.error("webhook: the database failed (%s); trying again", err)
                    wait_s = 5.0
                await wait_set(self._wake, wait_s)

    async def send_due(self, session: aiohttp.ClientSession) -> float:
        """Post every due row once; seconds until the next retry is due (at most 60)."""
        while True:
            rows = await self.db.fetchall(DUE, (self.clock(), BATCH))
            if not rows:
                break
            for row in rows:
                await self._send(session, row)
        nxt = await self.db.fetchone(
            "SELECT MIN(webhook_next_at) AS at FROM event_results WHERE webhook = 'due'"
        )
        if nxt is None or nxt["at"] is None:
            return 60.0
        return max(0.0, min(60.0, float(nxt["at"]) - self.clock()))

    async def _send(self, session: aiohttp.ClientSession, row: Any) -> None:
        body = body_of(row)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE: signature(self.secret, body),
            DELIVERY: row["event_id"],
        }
        try:
            async with session.post(self.url, data=body, headers=headers) as resp:
                await resp.read()
                ok, why = 200 <= resp.status < 300, f"HTTP {resp.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            ok, why = False, f"{type(err).__name__}: {err}"
        if ok:
            await self.db.write([(SENT, (row["event_id"],))])
            self.delivered += 1
            return
        attempts = int(row["webhook_attempts"]) + 1
        rand = self.rand or random.random
        delay = full_jitter(attempts, base=1.0, cap=self.cap_s, rand=rand)
        log.warning("webhook for %s failed (%s); again in %.1f s", row["ref"], why, delay)
        await self.db.write([(FAILED, (why[:200], self.clock() + delay, row["event_id"]))])
