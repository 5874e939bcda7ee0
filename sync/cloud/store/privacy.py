"""A customer's data: all of it as JSON (export), or none of it left (erasure).

Erasure keeps the customer's row as a tombstone without personal data (no name, email or phone;
a card code and number that match no look-up), so the ledger entries, rewards and claims that
point at it still count in the shop's figures (``tallies`` never held anyone's identity). The
ledger's event payloads that named the customer (an identified check's ``customer``) have those
names replaced; the wallet passes and the devices registered for them are deleted. The tombstone
gets a new card sequence number, so every till's card cache hears of the erasure with its next
state pull (``CardState.erased``) and forgets the card. One ``erasures`` row says who asked and
when. Erasing again changes nothing and answers the same.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from sync.cloud.book import to_us
from sync.cloud.errors import NotFound
from sync.cloud.models import RewardOut
from sync.cloud.store.book_io import next_seq
from sync.cloud.store.customers import _like, from_us, rewards_of
from sync.cloud.store.db import Row, Tx
from sync.contract.erasure import erase_names, like_needles, names_pattern

ERASED_CODE_PREFIX = "ERASED-"
"""A tombstone's card code: the prefix and its id (never a well-formed card code)."""


class ExportCustomer(BaseModel):
    """The customer as stored."""

    customer_id: str
    card_code: str
    number: str
    email: str | None
    name: str | None
    phone: str | None
    balance: int
    created_at: datetime


class ExportEntry(BaseModel):
    """One ledger entry on the card: stamps added (or taken back) and why."""

    delta: int
    kind: str
    branch_id: int
    order_id: str | None
    at: datetime


class ExportOrder(BaseModel):
    """A check the card was stamped for."""

    branch_id: int
    order_id: str
    total: str
    stamps: int
    voided: bool
    at: datetime


class ExportClaim(BaseModel):
    """A receipt QR or delivery insert claimed onto the card."""

    branch_id: int
    order_id: str | None
    stamps: int
    claimed_at: datetime | None


class ExportVoucher(BaseModel):
    """A back-office code claimed onto the card."""

    code: str
    state: str
    claimed_at: datetime | None


class ExportPass(BaseModel):
    """A Wallet pass made for the card."""

    serial: str
    wallet: Literal["apple", "google"]
    created_at: datetime


class CustomerExport(BaseModel):
    """``GET /v1/customers/{id}/export``: everything the cloud keeps about one customer."""

    exported_at: datetime
    customer: ExportCustomer
    ledger: list[ExportEntry]
    orders: list[ExportOrder]
    claims: list[ExportClaim]
    rewards: list[RewardOut]
    vouchers: list[ExportVoucher]
    wallet_passes: list[ExportPass]


class ErasureOut(BaseModel):
    """``DELETE /v1/customers/{id}``: the audit record of the erasure (nothing personal)."""

    customer_id: str
    erased: bool = True
    erased_at: datetime
    requested_by: str
    events_scrubbed: int


async def _customer_row(tx: Tx, business_id: int, customer_id: int) -> Row:
    row = await tx.fetchrow(
        "SELECT id, card_code, number, email, name, phone, balance, created_us, erased_us "
        "FROM customers WHERE id = ? AND business_id = ?",
        customer_id,
        business_id,
    )
    if row is None:
        raise NotFound("no such customer in this business", code="unknown_customer", field="id")
    return row


async def export(tx: Tx, business_id: int, customer_id: int, now: datetime) -> CustomerExport:
    """Everything kept about the customer (``NotFound`` if not of the business)."""
    row = await _customer_row(tx, business_id, customer_id)
    customer = ExportCustomer(
        customer_id=str(row["id"]), card_code=row["card_code"], number=row["number"],
        email=row["email"], name=row["name"], phone=row["phone"], balance=int(row["balance"]),
        created_at=_at(row["created_us"]),
    )  # fmt: skip
    entries = await tx.fetch(
        "SELECT delta, kind, branch_id, order_id, at_us FROM entries WHERE customer_id = ? "
        "ORDER BY at_us, id",
        customer_id,
    )
    orders = await tx.fetch(
        "SELECT branch_id, order_id, total, stamps, voided, at_us FROM orders "
        "WHERE business_id = ? AND customer_id = ? ORDER BY at_us",
        business_id,
        customer_id,
    )
    claims = await tx.fetch(
        "SELECT branch_id, order_id, stamps, claimed_us FROM receipt_qrs "
        "WHERE business_id = ? AND customer_id = ? ORDER BY claimed_us",
        business_id,
        customer_id,
    )
    codes = await tx.fetch(
        "SELECT code, state, claimed_us FROM voucher_codes WHERE business_id = ? "
        "AND customer_id = ? ORDER BY claimed_us",
        business_id,
        customer_id,
    )
    passes = await tx.fetch(
        "SELECT serial, google, created_us FROM wallet_passes WHERE customer_id = ? "
        "ORDER BY created_us",
        customer_id,
    )
    return CustomerExport(
        exported_at=now,
        customer=customer,
        ledger=[
            ExportEntry(delta=int(e["delta"]), kind=e["kind"], branch_id=int(e["branch_id"]),
                        order_id=e["order_id"], at=_at(e["at_us"]))
            for e in entries
        ],
        orders=[
            ExportOrder(branch_id=int(o["branch_id"]), order_id=o["order_id"], total=o["total"],
                        stamps=int(o["stamps"]), voided=bool(o["voided"]), at=_at(o["at_us"]))
            for o in orders
        ],
        claims=[
            ExportClaim(branch_id=int(c["branch_id"]), order_id=c["order_id"],
                        stamps=int(c["stamps"]), claimed_at=from_us(c["claimed_us"]))
            for c in claims
        ],
        rewards=await rewards_of(tx, customer_id, now),
        vouchers=[
            ExportVoucher(code=v["code"], state=v["state"], claimed_at=from_us(v["claimed_us"]))
            for v in codes
        ],
        wallet_passes=[
            ExportPass(serial=p["serial"], wallet="google" if p["google"] else "apple",
                       created_at=_at(p["created_us"]))
            for p in passes
        ],
    )  # fmt: skip


async def erase(
    tx: Tx, business_id: int, customer_id: int, now: datetime, requested_by: str
) -> ErasureOut:
    """Erase the customer's personal data (inside ``Db.write(business_id)``); idempotent."""
    row = await _customer_row(tx, business_id, customer_id)
    if row["erased_us"] is not None:
        return await _audit(tx, customer_id)
    names = Names(row)
    scrubbed = 0
    for event_id in await _events_naming(tx, business_id, customer_id, names):
        text = await tx.fetchval("SELECT payload FROM events WHERE id = ?", event_id)
        clean = names.scrub(text)
        if clean != text:
            await tx.execute("UPDATE events SET payload = ? WHERE id = ?", clean, event_id)
            scrubbed += 1
    serials = [
        r["serial"]
        for r in await tx.fetch("SELECT serial FROM wallet_passes WHERE customer_id = ?",
                                customer_id)
    ]  # fmt: skip
    for serial in serials:
        await tx.execute("DELETE FROM wallet_registrations WHERE serial = ?", serial)
        await tx.execute("DELETE FROM wallet_pushes WHERE serial = ?", serial)
    await tx.execute("DELETE FROM wallet_passes WHERE customer_id = ?", customer_id)
    await _forget_identity(tx, business_id, customer_id, row["email"], to_us(now))
    seq = await next_seq(tx, business_id, 1)
    at_us = to_us(now)
    await tx.execute(
        "UPDATE customers SET card_code = ?, number = ?, email = NULL, name = NULL, "
        "phone = NULL, erased_us = ?, updated_seq = ? WHERE id = ?",
        f"{ERASED_CODE_PREFIX}{customer_id}", f"x{customer_id}", at_us, seq, customer_id,
    )  # fmt: skip
    await tx.execute(
        "INSERT INTO erasures (customer_id, business_id, requested_by, events_scrubbed, at_us) "
        "VALUES (?, ?, ?, ?, ?)",
        customer_id, business_id, requested_by, scrubbed, at_us,
    )  # fmt: skip
    return await _audit(tx, customer_id)


async def _forget_identity(
    tx: Tx, business_id: int, customer_id: int, email: str | None, at_us: int
) -> None:
    """What the identity part (``identity.py``, ``merge.py``) keeps of a person: messages to
    them, their sign-in links, their consent history, and the cards merged into theirs (aliases
    keep the old code and number, which would still find the person)."""
    await tx.execute("DELETE FROM mail_outbox WHERE customer_id = ?", customer_id)
    await tx.execute("DELETE FROM consents WHERE customer_id = ?", customer_id)
    if email:
        await tx.execute(
            "DELETE FROM mail_outbox WHERE business_id = ? AND to_addr = ?", business_id, email
        )
        await tx.execute(
            "DELETE FROM sign_in_links WHERE business_id = ? AND email = ?", business_id, email
        )
    for alias in await tx.fetch(
        "SELECT id FROM customers WHERE merged_into = ? AND business_id = ?",
        customer_id, business_id,
    ):  # fmt: skip
        alias_id = int(alias["id"])
        await tx.execute(
            "UPDATE customers SET card_code = ?, number = ?, email = NULL, name = NULL, "
            "phone = NULL, erased_us = ?, updated_seq = ? WHERE id = ?",
            f"{ERASED_CODE_PREFIX}{alias_id}", f"x{alias_id}", at_us,
            await next_seq(tx, business_id, 1), alias_id,
        )  # fmt: skip


class Names:
    """The ways a customer was named: card code, number, email, phone and name."""

    def __init__(self, row: Row) -> None:
        ids = [row["card_code"], row["number"], row["email"], row["phone"]]
        self.needles = like_needles(ids)
        self.pattern = names_pattern([*ids, row["name"]])

    def scrub(self, text: str) -> str:
        """``text`` with every name of the customer replaced (``erasure.erase_names``)."""
        return erase_names(text, self.pattern)


async def _events_naming(tx: Tx, business_id: int, customer_id: int, names: Names) -> list[str]:
    """The ledger events that may name the customer: those whose check, entry or reward is the
    card's, and any of the business's whose payload spells one of its names (a check that
    named the customer by email before the card was known)."""
    ids: set[str] = set()
    for sql in (
        "SELECT event_id FROM orders WHERE business_id = ? AND customer_id = ?",
        "SELECT event_id FROM entries WHERE business_id = ? AND customer_id = ?",
        "SELECT event_id FROM rewards WHERE business_id = ? AND customer_id = ?",
    ):
        rows = await tx.fetch(sql, business_id, customer_id)
        ids.update(r["event_id"] for r in rows if r["event_id"] is not None)
    for needle in names.needles:
        rows = await tx.fetch(
            "SELECT id FROM events WHERE business_id = ? AND lower(payload) LIKE ? ESCAPE '\\'",
            business_id,
            _like(needle),
        )
        ids.update(r["id"] for r in rows)
    return sorted(ids)


async def _audit(tx: Tx, customer_id: int) -> ErasureOut:
    row = await tx.fetchrow(
        "SELECT requested_by, events_scrubbed, at_us FROM erasures WHERE customer_id = ?",
        customer_id,
    )
    assert row is not None  # written with ``erased_us``
    return ErasureOut(
        customer_id=str(customer_id),
        erased_at=_at(row["at_us"]),
        requested_by=row["requested_by"],
        events_scrubbed=int(row["events_scrubbed"]),
    )


def _at(us: int) -> datetime:
    at = from_us(us)
    assert at is not None
    return at
