"""Verified email, sign-in links and marketing consent (issue #19, part A), over ``Db``.

A sign-in link is a random token mailed to an address; only its SHA-256 is stored, with what
opening it does (``purpose``), when it expires and when it was used. ``take_link`` spends it
once, atomically: a second use, an expired or an unknown token raise. The message carrying the
link is queued in the same transaction as the link (``mail_outbox``), so neither exists without
the other.

Purposes: ``attach`` (put the address on card ``card_code``; if another card of the business
has it, that is the person's card: ``card_code`` is merged into it and the phone gets that card
back) and ``claim`` (the receipt ``claim_token`` onto the address's card, a new one if it has
none).

Consent is an append-only history per card and channel (``email``, ``wallet``): each row says
granted or withdrawn, the wording version shown, where (``card_page``, ``unsubscribe``...) and
when; the latest row is the card's answer, and no row means no.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sync.cloud.errors import Conflict, Gone, InvalidInput, NotFound
from sync.cloud.store import mail_outbox, merge
from sync.cloud.store.book_io import next_seq
from sync.cloud.store.customers import country_of, phone_holder
from sync.cloud.store.db import Db
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.phones import PhoneError, canonical_phone

Purpose = Literal["attach", "claim"]
Channel = Literal["email", "wallet"]
CHANNELS: tuple[Channel, ...] = ("email", "wallet")
# The version of the consent sentences (``consent.*`` in ``sync.web.texts``): a change of their
# meaning gets a new version, and every recorded answer names the one its person saw.
CONSENT_WORDING = "consent-2026-12"


def token_hash(token: str) -> str:
    """What is stored of a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh link token (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Link:
    """A spent sign-in link: what it was for."""

    business_id: int
    email: str
    purpose: Purpose
    card_code: str | None
    claim_token: str | None


@dataclass(frozen=True)
class Mail:
    """A message to queue with a link."""

    kind: str
    to_addr: str
    subject: str
    body: str
    headers: dict[str, str]
    customer_id: int | None = None


class Identity:
    """The store's identity operations (one ``Db``, the same as the ``Store``'s)."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def card_of_email(self, business_id: int, email: str) -> tuple[int, str] | None:
        """The id and code of the business's card with this (verified) address, if any."""
        async with self._db.read() as tx:
            row = await tx.fetchrow(
                "SELECT id, card_code FROM customers WHERE business_id = ? AND email = ? "
                "AND merged_into IS NULL",
                business_id, canonical_email(email),
            )  # fmt: skip
        return None if row is None else (int(row["id"]), str(row["card_code"]))

    async def is_alias(self, card_code: str) -> bool:
        """True if the card was merged into another (its code is only an alias now)."""
        async with self._db.read() as tx:
            merged = await tx.fetchval(
                "SELECT merged_into FROM customers WHERE card_code = ?",
                canonical_card_text(card_code),
            )
        return merged is not None

    async def card_id(self, card_code: str) -> tuple[int, int, str | None]:
        """A card's id, business and verified email (``NotFound`` if none)."""
        async with self._db.read() as tx:
            row = await tx.fetchrow(
                "SELECT d.id, d.business_id, d.email FROM customers c JOIN customers d "
                "ON d.id = COALESCE(c.merged_into, c.id) WHERE c.card_code = ?",
                canonical_card_text(card_code),
            )
        if row is None:
            raise NotFound("no card with this code", code="unknown_card", field="card_code")
        return int(row["id"]), int(row["business_id"]), row["email"]

    async def set_phone(self, business_id: int, customer_id: int, typed: str) -> str | None:
        """Put the phone typed on the card page on the card (E.164, read in the business's
        country; an empty field removes it). The card's sequence moves, so tills learn it with
        their next state pull and find the card by that phone offline."""
        async with self._db.write(business_id) as tx:
            phone = None
            if typed.strip():
                try:
                    phone = canonical_phone(typed, await country_of(tx, business_id))
                except PhoneError as err:
                    raise InvalidInput(str(err), field="phone", code="invalid_phone") from None
                holder = await phone_holder(tx, business_id, phone)
                if holder is not None and holder != customer_id:
                    raise Conflict(
                        "another card has this phone number", code="phone_taken", field="phone"
                    )
            seq = await next_seq(tx, business_id, 1)
            await tx.execute(
                "UPDATE customers SET phone = ?, updated_seq = ? WHERE id = ?",
                phone, seq, customer_id,
            )  # fmt: skip
        return phone

    async def send_link(
        self, business_id: int, email: str, purpose: Purpose, token: str, mail: Mail,
        now_us: int, ttl_us: int, *, card_code: str | None = None,
        claim_token: str | None = None,
    ) -> None:  # fmt: skip
        """Store the link of ``token`` and queue its message, in one transaction."""
        async with self._db.write(business_id) as tx:
            await tx.execute(
                "INSERT INTO sign_in_links (token_hash, business_id, email, purpose, card_code, "
                "claim_token, created_us, expires_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                token_hash(token), business_id, canonical_email(email), purpose, card_code,
                claim_token, now_us, now_us + ttl_us,
            )  # fmt: skip
            await mail_outbox.enqueue(
                tx, business_id, mail.customer_id, mail.kind, mail.to_addr, mail.subject,
                mail.body, mail.headers, now_us,
            )  # fmt: skip

    async def link_status(self, token: str, now_us: int) -> Link:
        """What the link would do, if it can still be used (raises like ``take_link``)."""
        async with self._db.read() as tx:
            row = await tx.fetchrow(
                "SELECT business_id, email, purpose, card_code, claim_token, expires_us, used_us "
                "FROM sign_in_links WHERE token_hash = ?",
                token_hash(token),
            )
        if row is None:
            raise NotFound("no such sign-in link", code="invalid", field="token")
        if row["used_us"] is not None:
            raise Conflict("this link was used already", code="used", field="token")
        if int(row["expires_us"]) <= now_us:
            raise Gone("this link has expired", code="expired", field="token")
        return Link(int(row["business_id"]), row["email"], row["purpose"], row["card_code"],
                    row["claim_token"])  # fmt: skip

    async def take_link(self, token: str, now_us: int) -> tuple[Link, str | None]:
        """Spend the link once and do what it is for; the card the phone now keeps (``None``:
        the caller claims ``Link.claim_token`` onto the address's card, or a new one, and
        calls ``verify_email`` with the card it landed on)."""
        link = await self.link_status(token, now_us)
        async with self._db.write(link.business_id) as tx:
            spent = await tx.fetchval(
                "UPDATE sign_in_links SET used_us = ? WHERE token_hash = ? AND used_us IS NULL "
                "AND expires_us > ? RETURNING business_id",
                now_us, token_hash(token), now_us,
            )  # fmt: skip
            if spent is None:  # another tab spent it a moment ago
                raise Conflict("this link was used already", code="used", field="token")
        if link.purpose == "claim":
            return link, None
        assert link.card_code is not None
        return link, await self.verify_email(link.business_id, link.card_code, link.email, now_us)

    async def verify_email(self, business_id: int, card_code: str, email: str, now_us: int) -> str:
        """Put the proven ``email`` on the card; if another card of the business has it, merge
        this card into that one. The card that remains."""
        address = canonical_email(email)
        async with self._db.write(business_id) as tx:
            row = await tx.fetchrow(
                "SELECT d.id, d.card_code, d.email FROM customers c JOIN customers d "
                "ON d.id = COALESCE(c.merged_into, c.id) WHERE c.card_code = ? "
                "AND c.business_id = ?",
                canonical_card_text(card_code), business_id,
            )  # fmt: skip
            if row is None:
                raise NotFound("no card with this code", code="unknown_card", field="card_code")
            if row["email"] == address:
                return str(row["card_code"])
            owner = await tx.fetchrow(
                "SELECT card_code FROM customers WHERE business_id = ? AND email = ?",
                business_id, address,
            )  # fmt: skip
            if owner is not None:
                done = await merge.merge(
                    tx, business_id, row["card_code"], owner["card_code"], now_us, "customer"
                )
                return done.card_code
            seq = await next_seq(tx, business_id, 1)
            # a card with another verified address moves to the new one (the person proved both)
            await tx.execute(
                "UPDATE customers SET email = ?, updated_seq = ? WHERE id = ?",
                address, seq, int(row["id"]),
            )  # fmt: skip
            return str(row["card_code"])

    # consent ---------------------------------------------------------------------------------

    async def consents(self, customer_id: int) -> dict[str, bool]:
        """The card's current answer per channel (no answer: no)."""
        async with self._db.read() as tx:
            rows = await tx.fetch(
                "SELECT channel, granted FROM consents WHERE customer_id = ? ORDER BY id",
                customer_id,
            )
        out: dict[str, bool] = dict.fromkeys(CHANNELS, False)
        for r in rows:
            out[r["channel"]] = bool(r["granted"])
        return out

    async def record_consent(
        self, business_id: int, customer_id: int, answers: Sequence[tuple[Channel, bool]],
        source: str, now_us: int,
    ) -> None:  # fmt: skip
        """Record answers that differ from the card's current ones (with the wording version
        and the time)."""
        current = await self.consents(customer_id)
        rows = [
            (business_id, customer_id, channel, int(granted), CONSENT_WORDING, source, now_us)
            for channel, granted in answers if current[channel] != granted
        ]  # fmt: skip
        if not rows:
            return
        async with self._db.write(business_id) as tx:
            await tx.executemany(
                "INSERT INTO consents (business_id, customer_id, channel, granted, wording, "
                "source, at_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def queue_marketing(self, business_id: int, customer_id: int, mail: Mail,
                              channel: Channel, now_us: int) -> bool:  # fmt: skip
        """Queue an offer only if the card said yes on ``channel``; whether it was queued."""
        async with self._db.write(business_id) as tx:
            granted = await tx.fetchval(
                "SELECT granted FROM consents WHERE customer_id = ? AND channel = ? "
                "ORDER BY id DESC LIMIT 1",
                customer_id, channel,
            )  # fmt: skip
            if not granted:
                return False
            await mail_outbox.enqueue(
                tx, business_id, customer_id, mail.kind, mail.to_addr, mail.subject,
                mail.body, mail.headers, now_us,
            )  # fmt: skip
        return True
