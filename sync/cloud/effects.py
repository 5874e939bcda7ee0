"""What an applied event caused, as the batch answer tells the till (pure).

``ledger.credit`` leaves a ``Caused`` per event that credited a card; these functions turn it
into the ``effects`` of ``EventResult`` (``sync.contract.events.EventEffects``) as plain JSON,
built by hand like the rest of the batch answer (no model per event on the hot path).
"""

from datetime import UTC, datetime
from typing import Any

import orjson

from sync.cloud.book import Caused, NewReward
from sync.contract.events import EventStatus


def _time(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1_000_000, UTC).isoformat()


def reward_json(r: NewReward) -> dict[str, Any]:
    """One issued reward (``IssuedReward``)."""
    return {
        "code": r.code,
        "kind": r.kind,
        "title": r.name,
        "valid_from": _time(r.valid_from_us),
        "valid_until": _time(r.expires_us),
        "pos_product": None if r.pos_product is None else orjson.loads(r.pos_product),
    }


def effects_json(c: Caused) -> dict[str, Any]:
    """An event's ``EventEffects``."""
    return {
        "card_code": c.card_code,
        "stamps": c.stamps,
        "balance": c.balance,
        "rewards": [reward_json(r) for r in c.rewards],
        "lottery": list(c.lottery),
    }


def result_json(
    eid: str,
    status: EventStatus,
    reason: str | None,
    caused: dict[str, Caused],
    replayed: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One ``EventResult``: ``effects`` only where the event credited a card (a duplicate's
    told again from the ledger, ``replayed``)."""
    out: dict[str, Any] = {"id": eid, "status": status, "reason": reason}
    if status is EventStatus.APPLIED:
        done = caused.get(eid)
        if done is not None:
            out["effects"] = effects_json(done)
    elif replayed and status is EventStatus.DUPLICATE and eid in replayed:
        out["effects"] = replayed[eid]
    return out


def batch_answer(
    outcomes: list[tuple[str, EventStatus, str | None]],
    caused: dict[str, Caused],
    replayed: dict[str, dict[str, Any]] | None,
) -> bytes:
    """The whole ``BatchResult`` as JSON bytes (the same as ``BatchResult.model_dump_json()``,
    without a model per event): an event that credited a card adds its ``effects``."""
    return orjson.dumps(
        {"results": [result_json(eid, st, why, caused, replayed) for eid, st, why in outcomes]}
    )
