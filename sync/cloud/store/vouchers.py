"""The back office's rows: batches of single-use codes, claiming a code onto a card, a
batch's figures, the business's plan and its card operations this month.

Everything here runs inside the caller's transaction (``Db.write(business_id)`` for writes).
"""

import random
from datetime import datetime, timedelta

from sync.cloud import ledger
from sync.cloud.backoffice import codes as code_rules
from sync.cloud.backoffice import plans
from sync.cloud.backoffice.models import BatchIn, BatchOut, CodeOut
from sync.cloud.book import REWARDS_ISSUED, Card, NewReward, Rejected, ref_key, to_us
from sync.cloud.errors import Conflict, Gone, NotFound
from sync.cloud.models import ClaimOut
from sync.cloud.store import book_io, customers, tenancy
from sync.cloud.store.claims import create_cards
from sync.cloud.store.db import Row, Tx
from sync.contract.customers import CustomerRef

BATCH_COLUMNS = (
    "id, branch_id, kind, stamps, title, count, valid_days, expires_us, created_us, printed"
)
_CLAIM_TEXT = {
    "already_claimed": "this code was already used",
    "expired": "this code has expired",
}


async def plan_of(tx: Tx, business_id: int) -> plans.Plan:
    """The business's plan (no row: self-hosted, unlimited)."""
    row = await tx.fetchrow(
        "SELECT name, ops_limit, seats_limit FROM plans WHERE business_id = ?", business_id
    )
    if row is None:
        return plans.SELF_HOSTED
    return plans.plan_named(row["name"], row["ops_limit"], row["seats_limit"])


async def set_plan(tx: Tx, business_id: int, plan: plans.Plan) -> None:
    """Put the business on ``plan``."""
    await tx.execute(
        "INSERT INTO plans (business_id, name, ops_limit, seats_limit) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (business_id) DO UPDATE SET name = excluded.name, "
        "ops_limit = excluded.ops_limit, seats_limit = excluded.seats_limit",
        business_id, plan.name, plan.ops_limit, plan.seats_limit,
    )  # fmt: skip


async def business_timezone(tx: Tx, business_id: int) -> str:
    """The business's time zone: its first branch's."""
    return str((await tenancy.list_branches(tx, business_id))[0].timezone)


async def ops_used(tx: Tx, business_id: int, first_us: int, end_us: int) -> int:
    """Card operations in ``[first_us, end_us)``: stamps issued, rewards issued and redeemed
    (the ledger's own tallies), plus each code the back office made; a code's claim adds
    nothing more (its stamps or voucher were counted when it was made)."""
    row = await tx.fetchrow(
        "SELECT "
        "(SELECT COALESCE(SUM(t.stamps + t.rewards_issued + t.rewards_redeemed), 0) "
        " FROM tallies t JOIN branches b ON b.id = t.branch_id "
        " WHERE b.business_id = ? AND t.second_us >= ? AND t.second_us < ?) AS ledger, "
        "(SELECT COALESCE(SUM(count), 0) FROM voucher_batches "
        " WHERE business_id = ? AND created_us >= ? AND created_us < ?) AS made, "
        "(SELECT COALESCE(SUM(CASE WHEN vb.kind = 'stamps' THEN vb.stamps ELSE 1 END), 0) "
        " FROM voucher_codes vc JOIN voucher_batches vb ON vb.id = vc.batch_id "
        " WHERE vc.business_id = ? AND vc.claimed_us >= ? AND vc.claimed_us < ?) AS claimed",
        business_id, first_us, end_us, business_id, first_us, end_us,
        business_id, first_us, end_us,
    )  # fmt: skip
    assert row is not None
    return int(row["ledger"]) + int(row["made"]) - int(row["claimed"])


async def month_usage(tx: Tx, business_id: int, now: datetime) -> tuple[str, str, int]:
    """The business's time zone, this month's name and its card operations so far."""
    tz = await business_timezone(tx, business_id)
    start, end, month = plans.month_window(now, tz)
    return tz, month, await ops_used(tx, business_id, to_us(start), to_us(end))


async def seats_used(tx: Tx, business_id: int) -> int:
    """Device keys not revoked: the staff seats in use."""
    return int(
        await tx.fetchval(
            "SELECT COUNT(*) FROM devices WHERE business_id = ? AND revoked_us IS NULL",
            business_id,
        )
    )


async def create_batch(
    tx: Tx, business_id: int, branch_id: int, body: BatchIn, now: datetime
) -> tuple[int, list[str]]:
    """A batch's row and its codes (the plan checked first)."""
    plan = await plan_of(tx, business_id)
    _, _, used = await month_usage(tx, business_id, now)
    what = "a voucher" if body.count == 1 else f"a batch of {body.count} codes"
    plans.check_ops(plan, used, body.count, what)
    await tenancy.get_branch(tx, business_id, branch_id)
    now_us = to_us(now)
    expires_us = to_us(now + timedelta(days=body.valid_days))
    batch_id = int(
        await tx.fetchval(
            "INSERT INTO voucher_batches (business_id, branch_id, kind, stamps, title, count, "
            "valid_days, expires_us, created_us, printed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0) "
            "RETURNING id",
            business_id, branch_id, body.kind, body.stamps if body.kind == "stamps" else 0,
            body.title, body.count, body.valid_days, expires_us, now_us,
        )
    )  # fmt: skip
    made: list[str] = []
    while len(made) < body.count:
        drawn = list({code_rules.new_code() for _ in range(body.count - len(made))})
        values = ", ".join(["(?, ?, ?, 'open')"] * len(drawn))
        rows = await tx.fetch(
            f"INSERT INTO voucher_codes (code, business_id, batch_id, state) VALUES {values} "  # noqa: S608
            "ON CONFLICT (code) DO NOTHING RETURNING code",
            *[v for c in drawn for v in (c, business_id, batch_id)],
        )
        made += [r["code"] for r in rows]  # a code already taken (1 in 2^50) is drawn again
    return batch_id, made


def _state(row: Row, now_us: int) -> str:
    if row["state"] == "claimed":
        return "redeemed" if row["reward_state"] == "redeemed" else "claimed"
    return "expired" if now_us >= int(row["expires_us"]) else "open"


async def batch_out(
    tx: Tx, business_id: int, batch_id: int, now: datetime, public_url: str, *, with_codes: bool
) -> BatchOut:
    """A batch with its figures (and its codes)."""
    row = await tx.fetchrow(
        f"SELECT {BATCH_COLUMNS} FROM voucher_batches WHERE id = ? AND business_id = ?",  # noqa: S608
        batch_id, business_id,
    )  # fmt: skip
    if row is None:
        raise NotFound("no such batch in this business", field="id")
    rows = await tx.fetch(
        "SELECT vc.code, vc.state, r.state AS reward_state FROM voucher_codes vc "
        "LEFT JOIN rewards r ON r.code = vc.reward_code WHERE vc.batch_id = ? ORDER BY vc.code",
        batch_id,
    )
    now_us = to_us(now)
    states = [
        (r["code"], _state({**dict(r), "expires_us": row["expires_us"]}, now_us)) for r in rows
    ]
    claimed = sum(1 for _, s in states if s in ("claimed", "redeemed"))
    redeemed = sum(1 for _, s in states if s == "redeemed")
    count = int(row["count"])
    return BatchOut(
        batch_id=int(row["id"]), branch_id=int(row["branch_id"]), kind=row["kind"],
        stamps=int(row["stamps"]), title=row["title"], count=count,
        created_at=customers.from_us(row["created_us"]) or now,
        expires_at=customers.from_us(row["expires_us"]) or now,
        printed=int(row["printed"]), claimed=claimed, redeemed=redeemed,
        conversion=round(claimed / count, 4) if count else 0.0,
        codes=[CodeOut(code=c, url=code_rules.claim_url(public_url, c), state=s)
               for c, s in states] if with_codes else [],
    )  # fmt: skip


async def batch_ids(tx: Tx, business_id: int, limit: int = 50) -> list[int]:
    """The business's latest batches, newest first."""
    rows = await tx.fetch(
        "SELECT id FROM voucher_batches WHERE business_id = ? ORDER BY id DESC LIMIT ?",
        business_id, limit,
    )  # fmt: skip
    return [int(r["id"]) for r in rows]


async def mark_printed(tx: Tx, business_id: int, batch_id: int) -> None:
    """The batch went to a printer: all its codes count as printed."""
    await tx.execute(
        "UPDATE voucher_batches SET printed = count WHERE id = ? AND business_id = ?",
        batch_id, business_id,
    )  # fmt: skip


async def code_row(tx: Tx, code: str) -> Row | None:
    """A code with its batch (``None``: no such code)."""
    return await tx.fetchrow(
        "SELECT vc.code, vc.business_id, vc.state, vc.batch_id, vb.branch_id, vb.kind, "
        "vb.stamps, vb.title, vb.valid_days, vb.expires_us FROM voucher_codes vc "
        "JOIN voucher_batches vb ON vb.id = vc.batch_id WHERE vc.code = ?",
        code,
    )


def claim_problem(row: Row | None, now_us: int) -> None:
    """Raise why the code cannot be claimed now (unknown, already used, expired)."""
    if row is None:
        raise NotFound("no such code: check the letters and digits", code="invalid", field="code")
    if row["state"] != "open":
        raise Conflict(_CLAIM_TEXT["already_claimed"], code="already_claimed", field="code")
    if now_us >= int(row["expires_us"]):
        raise Gone(_CLAIM_TEXT["expired"], code="expired", field="code")


async def claim_code(
    tx: Tx,
    code: str,
    ref: CustomerRef | None,
    now: datetime,
    rng: random.Random,
    *,
    strict: bool = False,
) -> ClaimOut:
    """Claim a code once onto the card ``ref`` names (none: a new card; an unknown card: a new
    card, or with ``strict`` ``NotFound`` ``unknown_card``)."""
    now_us = to_us(now)
    row = await code_row(tx, code)
    claim_problem(row, now_us)
    assert row is not None
    business_id, branch_id = int(row["business_id"]), int(row["branch_id"])
    key = ref_key(ref) if ref is not None else None
    book = await book_io.load_claims(
        tx, business_id=business_id, branch_id=branch_id, now=now, rng=rng, qr_refs=[],
        card_refs=[key] if key else [],
    )  # fmt: skip
    card: Card | None = None
    if key is not None:
        try:
            card = book.find_card(key)
        except Rejected:
            card = None
    if card is None and key is not None and strict:
        raise NotFound("no card with this code", code="unknown_card", field="card_code")
    new_card = card is None
    if card is None:
        email = ref.email if ref is not None and ref.kind == "email" else None
        card = (await create_cards(tx, business_id, [(email, None)], now_us))[0]
        book.add_card(card)
    card.dirty = True
    reward_code = None
    if row["kind"] == "stamps":
        issued = ledger.credit(book, card, int(row["stamps"]), "insert", None, None)
        stamps = int(row["stamps"])
    else:
        reward_code = book.new_code()
        expires = now + timedelta(days=int(row["valid_days"]))
        book.rewards.append(
            NewReward(code=reward_code, customer_id=card.customer_id, kind="voucher",
                      name=row["title"], source="voucher", issued_us=now_us,
                      valid_from_us=now_us, expires_us=to_us(expires), device_id=None)
        )  # fmt: skip
        book.count(REWARDS_ISSUED, None)
        issued, stamps = list(book.rewards), 0
    await book_io.flush(tx, book, business_id)
    await tx.execute(
        "UPDATE voucher_codes SET state = 'claimed', customer_id = ?, reward_code = ?, "
        "claimed_us = ? WHERE code = ? AND state = 'open'",
        card.customer_id, reward_code, now_us, code,
    )  # fmt: skip
    rewards = [
        customers.reward_out(
            {
                "code": r.code,
                "kind": r.kind,
                "name": r.name,
                "state": "issued",
                "branch_id": branch_id,
                "issued_us": r.issued_us,
                "valid_from_us": r.valid_from_us,
                "expires_us": r.expires_us,
                "redeemed_us": None,
                "pos_product": r.pos_product,
            },
            now,
        )
        for r in issued
    ]
    return ClaimOut(
        stamps=stamps, new_card=new_card, customer_id=str(card.customer_id),
        card_code=card.card_code, number=card.number, balance=card.balance,
        goal=book.program.goal, rewards=rewards,
    )  # fmt: skip


async def last_seen(tx: Tx, business_id: int) -> dict[int, int]:
    """Each device's last second with figures in the ledger (``tallies``), by device id."""
    rows = await tx.fetch(
        "SELECT t.device_id, MAX(t.second_us) AS last_us FROM tallies t "
        "JOIN branches b ON b.id = t.branch_id WHERE b.business_id = ? GROUP BY t.device_id",
        business_id,
    )
    return {int(r["device_id"]): int(r["last_us"]) for r in rows}
