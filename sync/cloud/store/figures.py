"""Reads for the edge and the owner: the sync state (program + changed cards) and the figures."""

import asyncio
import json
import zlib
from datetime import date

from sync.cloud.book import TALLIES
from sync.cloud.errors import NotFound
from sync.cloud.figures import Fact, day_bounds, tally
from sync.cloud.models import DeviceStats, StatsOut
from sync.cloud.store import tenancy
from sync.cloud.store.customers import OFF_LOOP_ROWS, from_us
from sync.cloud.store.db import Row, Tx
from sync.contract.events import CardState, OpenReward, SyncState

PAGE = 500


def state_tag(
    branch_id: int,
    program_version: int,
    cursor: int,
    shop: str,
    country: str | None,
    tz: str,
    language: str,
) -> str:
    """The ``ETag`` of a sync state that leaves a device at ``cursor`` with nothing more to
    fetch: its program and its cursor, the business's card sequence, say all a later answer at
    that cursor would hold (a card change moves that sequence, a program change its version),
    with the shop's name, country, time zone and language (which move neither) folded in."""
    rest = zlib.crc32(f"{shop}\x00{country or ''}\x00{tz}\x00{language}".encode())
    return f'"{branch_id}.{program_version}.{cursor}.{rest:08x}"'


def tag_of(state: SyncState) -> str | None:
    """The ``state_tag`` of an answer (``None`` while more pages follow): a device that comes
    back at its cursor with it gets a 304 until something it would be sent changes."""
    if state.more:
        return None
    return state_tag(
        int(state.branch_id), state.program.version, state.cursor, state.program.shop or "",
        state.country, state.timezone, state.language,
    )  # fmt: skip


# The branch (every column ``tenancy.branch_of`` reads), the shop's name and country and the
# business's card sequence: one indexed look-up, all a 304 needs.
_HEAD = (
    "SELECT b.*, u.name AS shop, u.country AS country, c.card_seq AS card_seq FROM branches b "
    "JOIN counters c ON c.business_id = b.business_id JOIN businesses u ON u.id = b.business_id "
    "WHERE b.id = ? AND b.business_id = ?"
)


async def sync_state(
    tx: Tx, business_id: int, branch_id: int, cursor: int, language: str, tags: list[str]
) -> SyncState | str:
    """The branch's program and the business's cards changed after ``cursor``, in the
    business's ``language``; or the one of ``tags`` (``If-None-Match``) that still names it
    (nothing changed: the answer is a 304).

    One round trip for a 304, two for an answer without cards, three with cards. The card
    sequence is read before the cards: an answer without cards leaves the device at a sequence
    every card up to which it has seen (cards change with the sequence, in one transaction)."""
    head = await tx.fetchrow(_HEAD, branch_id, business_id)
    if head is None:
        raise NotFound("no such branch in this business", field="branch")
    branch = tenancy.branch_of(head)
    shop, seq = str(head["shop"]), int(head["card_seq"])
    country = str(head["country"]) if head["country"] else None
    version = branch.program_version
    if tags and seq == cursor:
        tag = state_tag(branch_id, version, seq, shop, country, branch.timezone, language)
        if tag in tags:
            return tag
    # a card merged into another (``merge.py``) is sent with the balance it went into: a till
    # that scans the old code offline shows that, and its check credits the merged card
    rows = await tx.fetch(
        "SELECT c.id, c.card_code, c.number, c.email, c.name, "
        "COALESCE(d.balance, c.balance) AS balance, c.updated_seq, c.erased_us, c.phone "
        "FROM customers c "
        "LEFT JOIN customers d ON d.id = c.merged_into "
        "WHERE c.business_id = ? AND c.updated_seq > ? ORDER BY c.updated_seq LIMIT ?",
        business_id, cursor, PAGE + 1,
    )  # fmt: skip
    page = rows[:PAGE]
    held = await open_rewards(tx, [int(r["id"]) for r in page])
    cards = [
        CardState(
            customer_id=str(r["id"]),
            card_code=r["card_code"],
            number=r["number"],
            email=r["email"],
            name=r["name"],
            phone=r["phone"],
            balance=int(r["balance"]),
            updated_seq=int(r["updated_seq"]),
            rewards=held.get(int(r["id"]), []),
            erased=r["erased_us"] is not None,
        )
        for r in page
    ]
    return SyncState(
        branch_id=str(branch_id),
        program=branch.program.state(version).model_copy(update={"shop": shop}),
        timezone=branch.timezone,
        country=country,
        language=language,
        cards=cards,
        cursor=cards[-1].updated_seq if cards else seq,
        more=len(rows) > PAGE,
    )


async def open_rewards(tx: Tx, customer_ids: list[int]) -> dict[int, list[OpenReward]]:
    """The rewards not yet redeemed of these cards (expired ones too: the till says why it
    refuses them), oldest first."""
    if not customer_ids:
        return {}
    rows = await tx.fetch(
        "SELECT customer_id, code, kind, name, valid_from_us, expires_us, pos_product "  # noqa: S608
        f"FROM rewards WHERE state = 'issued' AND customer_id {tx.in_int} "
        "ORDER BY issued_us, code",
        tx.array(customer_ids),
    )
    if len(rows) > OFF_LOOP_ROWS:  # a card that reached its goal thousands of times (#14)
        return await asyncio.to_thread(_open_rewards, rows)
    return _open_rewards(rows)


def _open_rewards(rows: list[Row]) -> dict[int, list[OpenReward]]:
    out: dict[int, list[OpenReward]] = {}
    for r in rows:
        valid_from = from_us(r["valid_from_us"])
        assert valid_from is not None
        out.setdefault(int(r["customer_id"]), []).append(
            OpenReward(
                code=r["code"],
                kind=r["kind"],
                title=r["name"],
                valid_from=valid_from,
                valid_until=from_us(r["expires_us"]),
                pos_product=None if r["pos_product"] is None else json.loads(r["pos_product"]),
            )
        )
    return out


# voids of checks that issued a reward or had one redeemed on them (refunded reward sales)
_VOIDED_REWARD_CHECKS = (
    "SELECT COUNT(*) FROM orders o WHERE o.branch_id = ? AND o.voided_us IS NOT NULL "
    "AND o.voided_us >= ? AND o.voided_us < ? AND ("
    "EXISTS (SELECT 1 FROM rewards r WHERE r.branch_id = o.branch_id AND r.order_id = o.order_id) "
    "OR EXISTS (SELECT 1 FROM rewards r WHERE r.business_id = o.business_id "
    "AND r.redeemed_order = o.order_id))"
)

_TALLIES = (
    f"SELECT device_id, second_us, {', '.join(TALLIES)} FROM tallies "  # noqa: S608
    "WHERE branch_id = ? AND second_us >= ? AND second_us < ?"
)


async def stats(tx: Tx, business_id: int, branch_id: int, first: date, last: date) -> StatsOut:
    """Counts per local day and per device for the branch, ``first..last`` inclusive."""
    branch = await tenancy.get_branch(tx, business_id, branch_id)
    start, end = day_bounds(first, last, branch.timezone)
    facts: list[Fact] = []
    for row in await tx.fetch(_TALLIES, branch_id, start, end):
        device_id, at, *counts = tuple(row)
        device = int(device_id) or None
        facts.extend(
            (name, device, int(at), int(n)) for name, n in zip(TALLIES, counts, strict=True) if n
        )
    days, total, per_device = tally(facts, first, last, branch.timezone)
    labels = {
        int(r["id"]): r["label"]
        for r in await tx.fetch("SELECT id, label FROM devices WHERE branch_id = ?", branch_id)
    }
    devices = [
        DeviceStats(device_id=d, label=labels.get(d, "?"), days=dd, total=tt)
        for d, (dd, tt) in sorted(per_device.items())
    ]
    conflicts = await tx.fetchval(
        "SELECT COUNT(*) FROM redeem_conflicts WHERE branch_id = ? AND at_us >= ? AND at_us < ?",
        branch_id, start, end,
    )  # fmt: skip
    voided = await tx.fetchval(_VOIDED_REWARD_CHECKS, branch_id, start, end)
    return StatsOut(
        branch_id=branch_id,
        timezone=branch.timezone,
        from_=first,
        to=last,
        days=days,
        total=total,
        devices=devices,
        redeem_conflicts=int(conflicts or 0),
        voided_reward_checks=int(voided or 0),
    )
