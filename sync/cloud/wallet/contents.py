"""What many passes say now, read in a few queries: the push worker's batch (a program change
queues every pass of a business; one query per pass and table would be thousands).

The same content as ``service.current_content`` gives for one card: the card, its goal (the
business's first branch's program, as the card page shows), its rewards, the business's name
and reward name, and the private card link."""

from dataclasses import dataclass
from datetime import datetime

from sync.cloud.card_links import link_signature
from sync.cloud.models import CardOut, ProgramConfig, RewardOut
from sync.cloud.store import Store
from sync.cloud.store.book_io import CARD_COLUMNS, card_of
from sync.cloud.store.customers import REWARD_COLUMNS, customer_out, reward_out
from sync.cloud.store.db import Tx
from sync.cloud.wallet.pass_json import PassContent, content_of
from sync.cloud.wallet.passes_db import PassRow, pass_rows


@dataclass(frozen=True, slots=True)
class _Business:
    name: str
    goal: int
    reward_name: str
    link_key: bytes | None


async def _business(tx: Tx, business_id: int) -> _Business:
    row = await tx.fetchrow("SELECT name, link_key FROM businesses WHERE id = ?", business_id)
    text = await tx.fetchval(
        "SELECT program FROM branches WHERE business_id = ? ORDER BY id LIMIT 1", business_id
    )
    program = ProgramConfig.model_validate_json(text) if text else ProgramConfig()
    key = bytes.fromhex(row["link_key"]) if row is not None and row["link_key"] else None
    return _Business(
        name=str(row["name"]) if row is not None else "",
        goal=program.goal if text else 10,
        reward_name=program.reward_name,
        link_key=key,
    )


async def contents(
    store: Store, public_url: str, serials: list[str], now: datetime
) -> dict[str, tuple[PassRow, PassContent]]:
    """Each stored pass among ``serials`` with what it says now (a pass whose card was erased
    is left out)."""
    async with store.db.read() as tx:
        stored = await pass_rows(tx, serials)
        ids = sorted({p.customer_id for p in stored})
        card_rows = await tx.fetch(
            f"SELECT {CARD_COLUMNS}, business_id FROM customers WHERE id {tx.in_int}",  # noqa: S608
            tx.array(ids),
        )
        reward_rows = await tx.fetch(
            f"SELECT {REWARD_COLUMNS} FROM rewards WHERE customer_id {tx.in_int} "  # noqa: S608
            "ORDER BY issued_us DESC, code",
            tx.array(ids),
        )
        businesses = {
            b: await _business(tx, b) for b in sorted({int(r["business_id"]) for r in card_rows})
        }
    cards = {int(r["id"]): (card_of(r), int(r["business_id"])) for r in card_rows}
    rewards: dict[int, list[RewardOut]] = {}
    for r in reward_rows:
        rewards.setdefault(int(r["customer_id"]), []).append(reward_out(r, now))
    out: dict[str, tuple[PassRow, PassContent]] = {}
    for p in stored:
        found = cards.get(p.customer_id)
        if found is None:
            continue
        card, business_id = found
        b = businesses[business_id]
        key = b.link_key or await store.card_link_key(card.card_code)
        view = CardOut(
            **customer_out(card, b.goal).model_dump(),
            business_id=business_id,
            rewards=rewards.get(p.customer_id, []),
        )
        url = f"{public_url}/card/{card.card_code}/{link_signature(key, card.card_code)}"
        out[p.serial] = (p, content_of(view, p.serial, b.name, b.reward_name, url))
    return out
