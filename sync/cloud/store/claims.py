"""Receipt-QR claims, coalesced: concurrent claims of one branch share one write transaction.

Phones claim in bursts (a queue at the till, a promotion). Each claim alone is a dozen small
statements under the business's write lock, so claims queue behind each other; here whatever
claims arrived while the previous group ran go through together: one look-up of their QRs and
cards, one insert of their new cards, one flush. Each claim still succeeds or fails on its own,
in arrival order (the second claim of one token in a group sees the first as already made).
Up to ``WORKERS`` groups run at once, each under its business's lock (two claims of one token
in two groups: the second sees the first's commit).
"""

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.cloud import ledger
from sync.cloud.book import Book, Card, NewReward, Rejected, ref_key
from sync.cloud.errors import Conflict, EmailProofNeeded, Gone, NotFound, StoreError
from sync.cloud.models import ClaimIn, ClaimOut
from sync.cloud.store import book_io, customers
from sync.cloud.store.db import Db, Tx
from sync.cloud.store.tenancy import DeviceInfo
from sync.contract.card_code import is_card_code, new_card_code
from sync.contract.claim_token import ClaimToken
from sync.contract.customers import CustomerRef, canonical_email

MAX_GROUP = 128
# Claim transactions at once per process (the pool's other connections serve batches, state
# pulls and key look-ups). With one worker, a claim waited for every group taken before it.
WORKERS = 3
CLAIM_STATUS = {"already_claimed": Conflict, "voided": Gone, "expired": Gone}
CLAIM_TEXT = {
    "already_claimed": "this receipt was already claimed",
    "voided": "this receipt's order was cancelled",
    "expired": "this receipt code has expired",
}


@dataclass
class Want:
    """One claim waiting for its group."""

    token: ClaimToken
    device: DeviceInfo
    body: ClaimIn
    now: datetime
    rng: random.Random
    fut: asyncio.Future[ClaimOut]
    card: Card | None = None
    new_card: bool = False


class ClaimQueue:
    """Runs claims in groups per branch; ``submit`` answers each claim on its own."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self._queue: list[Want] = []
        self._workers: set[asyncio.Task[None]] = set()

    async def submit(self, token: ClaimToken, device: DeviceInfo, body: ClaimIn,
                     now: datetime, rng: random.Random) -> ClaimOut:  # fmt: skip
        """Claim ``token`` (already verified) onto the body's card or a new card."""
        loop = asyncio.get_running_loop()
        want = Want(token, device, body, now, rng, loop.create_future())
        self._queue.append(want)
        self._workers = {w for w in self._workers if not w.done()}
        if len(self._workers) < WORKERS:
            # another worker while those running wait (for a business's lock held elsewhere,
            # a slow commit): one busy business no longer holds up every other's claims
            self._workers.add(loop.create_task(self._drain()))
        return await asyncio.shield(want.fut)

    async def _drain(self) -> None:
        while self._queue:
            # the first waiting claim's branch and its others (up to MAX_GROUP), in arrival
            # order; the other branches' claims stay queued for the other workers
            first = self._queue[0].device
            key = (first.business_id, first.branch_id)
            wants: list[Want] = []
            rest: list[Want] = []
            for w in self._queue:
                mine = len(wants) < MAX_GROUP and (w.device.business_id, w.device.branch_id) == key
                (wants if mine else rest).append(w)
            self._queue = rest
            try:
                await self._run(*key, wants)
            except BaseException as err:
                for w in wants:
                    if not w.fut.done():
                        w.fut.set_exception(err)
                if isinstance(err, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise

    async def _run(self, business_id: int, branch_id: int, wants: list[Want]) -> None:
        refs = [_ref(w.body) for w in wants]
        async with self._db.write(business_id) as tx:
            book = await book_io.load_claims(
                tx, business_id=business_id, branch_id=branch_id, now=wants[0].now,
                rng=wants[0].rng, qr_refs=[w.token.order_ref for w in wants],
                card_refs=[r for r in refs if r is not None],
            )  # fmt: skip
            ok = self._decide(book, wants)
            await self._new_cards(tx, business_id, book, ok)
            results = []
            for w in ok:
                assert w.card is not None
                book.device_id = w.device.device_id
                before = len(book.rewards)
                stamps, issued = ledger.claim(book, w.token, w.card)
                results.append((w, stamps, issued, before))
            book.device_id = None
            await book_io.flush(tx, book, business_id)
        for w, stamps, issued, _ in results:
            assert w.card is not None
            rewards = [customers.reward_out(_reward_row(r, branch_id), w.now) for r in issued]
            w.fut.set_result(
                ClaimOut(
                    stamps=stamps, new_card=w.new_card,
                    customer_id=str(w.card.customer_id), card_code=w.card.card_code,
                    number=w.card.number, balance=w.card.balance, goal=book.program.goal,
                    rewards=rewards,
                )
            )  # fmt: skip

    def _decide(self, book: Book, wants: list[Want]) -> list[Want]:
        """Refuse what cannot be claimed (in arrival order); find the cards that exist."""
        ok: list[Want] = []
        taken: set[tuple[int, str]] = set()
        for w in wants:
            ref = (w.device.device_id, w.token.order_ref)  # another device's QR may share it
            qr = book.qrs.get(ref)
            problem = "already_claimed" if ref in taken else ledger.claim_problem(qr, book.now_us)
            if problem is not None:
                error = CLAIM_STATUS[problem](CLAIM_TEXT[problem], code=problem, field="token")
                w.fut.set_exception(error)
                continue
            try:
                w.card = _existing(book, w.body)
            except StoreError as err:
                w.fut.set_exception(err)
                continue
            taken.add(ref)
            ok.append(w)
        return ok

    async def _new_cards(self, tx: Tx, business_id: int, book: Book, ok: list[Want]) -> None:
        """One insert for the group's new cards; claims giving one new email share its card."""
        need = [w for w in ok if w.card is None]
        firsts: dict[str, Want] = {}
        for i, w in enumerate(need):
            email = canonical_email(w.body.email or "")
            firsts.setdefault(email or f"#{i}", w)
        makers = list(firsts.values())
        specs = [(canonical_email(w.body.email or "") or None, w.body.name) for w in makers]
        cards = await create_cards(tx, business_id, specs, book.now_us)
        made = {id(w): c for w, c in zip(makers, cards, strict=True)}
        by_email = {c.email: c for c in cards if c.email}
        for w in need:
            email = canonical_email(w.body.email or "")
            w.card = made.get(id(w)) or by_email[email]
            w.new_card = True
            book.add_card(w.card)


def _ref(body: ClaimIn) -> str | None:
    if body.card_code is not None and is_card_code(body.card_code):
        return ref_key(CustomerRef(card=body.card_code))
    if body.email is not None:
        return ref_key(CustomerRef(email=body.email))
    return None


def _existing(book: Book, body: ClaimIn) -> Card | None:
    if body.card_code is not None:
        ref = _ref(body)
        try:
            if ref is None:
                raise Rejected("unknown card")
            return book.find_card(ref)
        except Rejected as err:
            raise NotFound("no card with this code", code="unknown_card",
                           field="card_code") from err  # fmt: skip
    if body.email is not None:
        try:
            book.find_card(ref_key(CustomerRef(email=body.email)))
        except Rejected:
            return None  # an unknown address starts a new card
        # Someone else's address must not open or feed their card: no code, balance or
        # reward is shown and nothing is attached (a one-time link mailed to the address will
        # attach the stamps: issue #19). Until then the answer says that an address has a
        # card, nothing more; claims are throttled per client.
        raise EmailProofNeeded(
            "this address already has a card: these stamps can be added from that card's own "
            "link or phone (confirmation by email is not available yet); "
            "the receipt stays unclaimed"
        )
    return None


def _reward_row(r: NewReward, branch_id: int) -> dict[str, Any]:
    return {
        "code": r.code, "kind": r.kind, "name": r.name, "state": "issued",
        "branch_id": branch_id, "issued_us": r.issued_us, "valid_from_us": r.valid_from_us,
        "expires_us": r.expires_us, "redeemed_us": None, "pos_product": r.pos_product,
    }  # fmt: skip


async def create_cards(
    tx: Tx, business_id: int, specs: list[tuple[str | None, str | None]], now_us: int
) -> list[Card]:
    """New customers for ``(email, name)`` pairs in one insert (up to ``MAX_GROUP`` rows of
    six parameters); their sync sequence numbers come with the flush that credits them."""
    rng = random.SystemRandom()
    out: list[Card | None] = [None] * len(specs)
    todo = list(range(len(specs)))
    while todo:
        drawn = {i: (new_card_code(), f"{rng.randrange(100_000, 1_000_000)}") for i in todo}
        # one statement for the group: the rows inserted come back (a taken number is skipped)
        values = ", ".join(["(?, ?, ?, ?, ?, 0, 0, ?)"] * len(todo))  # placeholders only
        sql = (
            "INSERT INTO customers (business_id, card_code, number, email, name, balance, "  # noqa: S608
            f"updated_seq, created_us) VALUES {values} "
            "ON CONFLICT (business_id, number) DO NOTHING RETURNING id, card_code"
        )
        params = [
            v for i in todo
            for v in (business_id, drawn[i][0], drawn[i][1], specs[i][0], specs[i][1], now_us)
        ]  # fmt: skip
        rows = await tx.fetch(sql, *params)
        ids = {r["card_code"]: int(r["id"]) for r in rows}
        left = []
        for i in todo:
            code, number = drawn[i]
            if code in ids:
                out[i] = Card(ids[code], code, number, specs[i][0], specs[i][1], 0, dirty=True)
            else:  # the number was taken: draw again
                left.append(i)
        todo = left
    return [c for c in out if c is not None]
