"""What the cloud said each applied check caused, kept by the agent (``event_results``).

The uploader hands each batch's ``effects`` (``sync.contract.events.EventEffects`` by event id)
to ``ResultStore.statements``: one ``INSERT OR IGNORE`` of a row per event that credited a
card, written in the same transaction as the batch's acks, so a check's rewards are on disk
exactly when its event stops being pending. ``check_rewards`` reads them back for
``GET /v1/orders/{id}``: a check's status comes from its event's row in the outbox
(``pending``/``sent``: pending, ``dead``: rejected, ``acked`` or purged after acking: applied).
"""

import json
from collections.abc import Callable
from typing import Any

from agent.rewards.models import CheckRewards, CheckStatus
from sync.contract.events import EventEffects
from sync.edge.storage import Stmt, Storage

# One statement for a whole batch's effects (SQLite walks the JSON object in C); kiosk scans
# (no check) are never posted to the POS.
INSERT_RESULTS = (
    "INSERT OR IGNORE INTO event_results (event_id, ref, type, effects, applied_at, webhook) "
    "SELECT o.event_id, COALESCE(json_extract(o.payload, '$.order_id'), "
    "json_extract(o.payload, '$.scan_id')), o.type, j.value, ?, "
    "CASE WHEN o.type = 'scan.stamped' THEN 'off' ELSE ? END "
    "FROM json_each(?) AS j JOIN outbox AS o ON o.event_id = j.key"
)
_STATUS: dict[str, CheckStatus] = {
    "pending": "pending",
    "sent": "pending",
    "dead": "rejected",
    "acked": "applied",
}


class ResultStore:
    """The uploader's ``ResultSink``: keeps each event's effects; wakes the webhook sender."""

    def __init__(self, *, webhook: bool, on_written: Callable[[], None] | None = None) -> None:
        self.webhook = webhook
        self.on_written = on_written

    def statements(self, effects: dict[str, Any], now: float) -> list[Stmt]:
        """The rows of the events that credited a card (a repeat answer adds nothing)."""
        state = "due" if self.webhook else "off"
        return [(INSERT_RESULTS, (now, state, json.dumps(effects, separators=(",", ":"))))]

    def written(self, effects: dict[str, Any]) -> None:
        """The effects are on disk: the webhook sender may tell the POS."""
        del effects
        if self.webhook and self.on_written is not None:
            self.on_written()


async def check_rewards(db: Storage, event_id: str | None) -> CheckRewards:
    """The rewards of the check whose crediting event is ``event_id``."""
    if event_id is None:
        return CheckRewards(status="unknown")
    row = await db.fetchone("SELECT state FROM outbox WHERE event_id = ?", (event_id,))
    status = "applied" if row is None else _STATUS.get(row["state"], "pending")
    if status != "applied":
        return CheckRewards(status=status)
    got = await db.fetchone("SELECT effects FROM event_results WHERE event_id = ?", (event_id,))
    if got is None:
        return CheckRewards(status="applied")
    return with_effects(EventEffects.model_validate_json(got["effects"]))


def with_effects(fx: EventEffects) -> CheckRewards:
    """An applied check's rewards from what its event credited."""
    return CheckRewards(
        status="applied",
        card_code=fx.card_code,
        stamps=fx.stamps,
        balance=fx.balance,
        issued=fx.rewards,
        lottery=fx.lottery,
    )
