"""Reads for the edge and the owner: the sync state (program + changed cards) and the figures."""

from datetime import date

from sync.cloud.figures import Fact, day_bounds, tally
from sync.cloud.models import DeviceStats, StatsOut
from sync.cloud.store import tenancy
from sync.cloud.store.db import Tx
from sync.protocol import CardState, SyncState

PAGE = 500


async def sync_state(tx: Tx, business_id: int, branch_id: int, cursor: int) -> SyncState:
    """The branch's program and the business's cards changed after ``cursor``."""
    branch = await tenancy.get_branch(tx, business_id, branch_id)
    rows = await tx.fetch(
        "SELECT id, card_code, number, email, name, balance, updated_seq FROM customers "
        "WHERE business_id = ? AND updated_seq > ? ORDER BY updated_seq LIMIT ?",
        business_id, cursor, PAGE + 1,
    )  # fmt: skip
    page = rows[:PAGE]
    cards = [
        CardState(
            customer_id=str(r["id"]),
            card_code=r["card_code"],
            number=r["number"],
            email=r["email"],
            name=r["name"],
            balance=int(r["balance"]),
            updated_seq=int(r["updated_seq"]),
        )
        for r in page
    ]
    if cards:
        new_cursor = cards[-1].updated_seq
    else:
        new_cursor = int(
            await tx.fetchval("SELECT card_seq FROM counters WHERE business_id = ?", business_id)
        )
    return SyncState(
        branch_id=str(branch_id),
        program=branch.program.state(branch.program_version),
        timezone=branch.timezone,
        cards=cards,
        cursor=new_cursor,
        more=len(rows) > PAGE,
    )


_FACTS = [
    ("orders", "SELECT device_id, at_us, 1 FROM orders WHERE branch_id = ? AND at_us >= ? "
     "AND at_us < ?"),
    ("voids", "SELECT device_id, voided_us, 1 FROM orders WHERE branch_id = ? "
     "AND voided_us >= ? AND voided_us < ?"),
    ("stamps", "SELECT device_id, at_us, delta FROM entries WHERE branch_id = ? AND at_us >= ? "
     "AND at_us < ? AND delta > 0"),
    ("qr_issued", "SELECT device_id, issued_us, 1 FROM receipt_qrs WHERE branch_id = ? "
     "AND issued_us >= ? AND issued_us < ?"),
    ("qr_claimed", "SELECT device_id, claimed_us, 1 FROM receipt_qrs WHERE branch_id = ? "
     "AND claimed_us >= ? AND claimed_us < ?"),
    ("rewards_issued", "SELECT device_id, issued_us, 1 FROM rewards WHERE branch_id = ? "
     "AND issued_us >= ? AND issued_us < ?"),
    ("rewards_redeemed", "SELECT redeemed_by, redeemed_us, 1 FROM rewards WHERE branch_id = ? "
     "AND redeemed_us >= ? AND redeemed_us < ?"),
]  # fmt: skip


async def stats(tx: Tx, business_id: int, branch_id: int, first: date, last: date) -> StatsOut:
    """Counts per local day and per device for the branch, ``first..last`` inclusive."""
    branch = await tenancy.get_branch(tx, business_id, branch_id)
    start, end = day_bounds(first, last, branch.timezone)
    facts: list[Fact] = []
    for name, sql in _FACTS:
        for row in await tx.fetch(sql, branch_id, start, end):
            device = None if row[0] is None else int(row[0])
            facts.append((name, device, int(row[1]), int(row[2])))
    days, total, per_device = tally(facts, first, last, branch.timezone)
    labels = {
        int(r["id"]): r["label"]
        for r in await tx.fetch("SELECT id, label FROM devices WHERE branch_id = ?", branch_id)
    }
    devices = [
        DeviceStats(device_id=d, label=labels.get(d, "?"), days=dd, total=tt)
        for d, (dd, tt) in sorted(per_device.items())
    ]
    return StatsOut(
        branch_id=branch_id,
        timezone=branch.timezone,
        from_=first,
        to=last,
        days=days,
        total=total,
        devices=devices,
    )
