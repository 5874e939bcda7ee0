"""What a re-sent event caused, told again (its first answer was lost on the way to the till).

A batch sent again after a cut connection comes back ``duplicate``; the till still needs the
check's effects (its rewards, its POS webhook). They are read back from the ledger's rows: the
stamps the order credited, the rewards the event issued (by ``rewards.event_id``) and the
card's balance as it is now. Read after the batch, outside its write, and only for duplicates
of events that credit a card at a till (``order.stamped``, ``order.attached``).
"""

import json
from datetime import UTC, datetime
from typing import Any

from sync.cloud.book import order_scope
from sync.cloud.records import AttachIn, Incoming, OrderIn
from sync.cloud.store.db import Tx
from sync.contract.events import EventType

_CREDITING = frozenset({EventType.ORDER_STAMPED.value, EventType.ORDER_ATTACHED.value})


def _time(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1_000_000, UTC).isoformat()


async def replayed_effects(
    tx: Tx, branch_id: int, device_id: int | None, items: list[Incoming], duplicates: set[str]
) -> dict[str, dict[str, Any]]:
    """``EventEffects`` (``replay``) of the duplicates among ``items`` that credited a card."""
    wanted = {
        i.eid: (i.record.order_id, order_scope(device_id, i.record.till))
        for i in items
        if i.eid in duplicates and i.type in _CREDITING and isinstance(i.record, OrderIn | AttachIn)
    }
    if not wanted:
        return {}
    orders = {
        (r[0], r[1]): (r[2], int(r[3]))
        for r in await tx.fetch(
            "SELECT order_id, scope, customer_id, credited FROM orders "  # noqa: S608
            f"WHERE branch_id = ? AND order_id {tx.in_text} AND customer_id IS NOT NULL",
            branch_id, tx.array(sorted({order_id for order_id, _ in wanted.values()})),
        )
    }  # fmt: skip
    ids = sorted({int(c) for c, _ in orders.values()})
    cards = {
        int(r[0]): (r[1], int(r[2]))
        for r in await tx.fetch(
            f"SELECT id, card_code, balance FROM customers WHERE id {tx.in_int}",  # noqa: S608
            tx.array(ids),
        )
    } if ids else {}  # fmt: skip
    issued: dict[str, list[dict[str, Any]]] = {}
    for r in await tx.fetch(
        "SELECT event_id, code, kind, name, valid_from_us, expires_us, pos_product "  # noqa: S608
        f"FROM rewards WHERE event_id {tx.in_text} ORDER BY issued_us, code",
        tx.array(sorted(wanted)),
    ):
        issued.setdefault(r[0], []).append({
            "code": r[1], "kind": r[2], "title": r[3], "valid_from": _time(int(r[4])),
            "valid_until": _time(None if r[5] is None else int(r[5])),
            "pos_product": None if r[6] is None else json.loads(r[6]),
        })  # fmt: skip
    out: dict[str, dict[str, Any]] = {}
    for eid, key in wanted.items():
        found = orders.get(key)
        card = cards.get(int(found[0])) if found is not None else None
        if found is None or card is None:
            continue
        out[eid] = {
            "card_code": card[0], "stamps": found[1], "balance": card[1],
            "rewards": issued.get(eid, []), "lottery": [], "replay": True,
        }  # fmt: skip
    return out
