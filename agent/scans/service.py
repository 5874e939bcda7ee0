"""The scan path (pure rules in ``drivers/``, state and I/O here): every scan, from a till's
scanner or ``POST /v1/scans``, ends in one recorded and counted outcome.

- **Autopilot** (a scanner fixed at a till): the card waits for that till's next check without
  a customer, for ``agent.autopilot_window_s``; the check is then stamped to the card and no
  receipt QR is minted for it. If no such check comes in the window, the card goes to the
  till's latest check without a customer recorded within the window before the scan (an
  ``order.attached`` event: the cloud cancels that check's receipt QR).
- **Kiosk**: a scan is a visit, stamped by the program's ``stamps_per_order``, at most once per
  card per ``agent.kiosk_cooldown_s``; the cooldown is kept in SQLite.
- **Manual** (a paired staff phone): a visit stamped at once; it starts the kiosk cooldown.
- A kiosk or manual card the cache does not have is looked up in the cloud: unknown there, the
  scan is rejected (``unknown_card``); the cloud unreachable, it is stamped and said ``offline``.
- **Reward codes** read at a till (a scanner in ``redeem`` mode, or in Autopilot) are redeemed
  (``agent.rewards.redeem``) for that till's next check; a kiosk refuses them.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from agent.db import AgentDb, DbError, Stmt
from agent.http.errors import AgentError, Unavailable
from agent.http.metrics import AgentMetrics
from agent.http.models import ScanAnswer
from agent.http.state import CustomerLookup
from agent.orders.event_ids import new_event_id
from agent.orders.program_source import ProgramSource
from agent.orders.service import OrderService
from agent.rewards.models import RedeemAnswer
from agent.scans import scan_log
from agent.scans.policy import PendingBook, PendingScan, cooldown_left
from agent.scans.scan_log import ScanRecorder
from config import AgentSettings
from drivers.debounce import DOUBLE_READ_S, Debouncer
from drivers.framing import RawLine
from drivers.scan_code import CodeKind, Rejected, ScannedCode, read_line, read_text
from drivers.scanner_set import ScanContext
from sync.contract import claim_token
from sync.contract.events import CustomerRef, EventType, ScanPayload
from sync.contract.program import stamps_cap
from sync.edge.outbox import NewEvent, event_statement

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


ScanResult = ScanAnswer  # what became of a scan, with the reason in words


class ScanMetrics:
    """The scan figures of ``AgentMetrics``, under the names the scan path uses."""

    def __init__(self, metrics: AgentMetrics) -> None:
        self.outcomes = metrics.scans
        self.rejections = metrics.scan_rejections
        self.autopilot = metrics.autopilot_results


def _ref(kind: str, value: str) -> CustomerRef:
    return CustomerRef(card=value) if kind == CodeKind.CARD else CustomerRef(number=value)


@dataclass(frozen=True, slots=True)
class CardSeen:
    """A scanned card as the agent knows it: its cooldown key, its balance (if known) and
    whether it exists (None: the cloud could not be asked and the cache does not have it)."""

    key: str
    balance: int | None
    known: bool | None


@dataclass
class ScanService:
    """The one path every scan takes; also the orders' ``AutopilotHook``."""

    settings: AgentSettings
    db: AgentDb
    orders: OrderService
    program: ProgramSource
    metrics: ScanMetrics
    clock: Clock
    lookup: Callable[[], CustomerLookup | None] | None = None  # the cloud, for uncached cards
    recorder: ScanRecorder = field(init=False)
    redeemer: Callable[[str, str | None], Awaitable[RedeemAnswer]] | None = None
    book: PendingBook = field(init=False)
    debounce: Debouncer = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = ScanRecorder(self.db)
        self.book = PendingBook(self.settings.agent.autopilot_window_s)
        self.debounce = Debouncer(DOUBLE_READ_S)
        self._kiosk_lock = asyncio.Lock()
        self._taken: dict[str | None, PendingScan] = {}  # the last card each till's check took

    async def scan_line(self, line: RawLine, ctx: ScanContext) -> None:
        """A line from a scanner; a scan the outbox refuses (disk full) is logged and counted,
        and the scanner keeps reading."""
        try:
            await self.scan(line, ctx)
        except AgentError as err:
            log.error("scan from %s not recorded: %s", ctx.source, err)
            self.metrics.rejections.labels(err.code).inc()

    async def scan(self, raw: RawLine | str, ctx: ScanContext) -> ScanResult:
        """Read, debounce and act on one scan; the answer says what became of it."""
        now = self.clock()
        read = read_text(raw) if isinstance(raw, str) else read_line(raw)
        scan_id = uuid.uuid4().hex
        if isinstance(read, Rejected):
            return self._reject(scan_id, ctx, now, read.text, None, read.reason, read.message)
        if self.debounce.is_repeat(ctx.source, f"{read.kind}:{read.value}", now.timestamp()):
            msg = f"the same code was read again within {DOUBLE_READ_S:g} s; it counts once"
            return self._reject(scan_id, ctx, now, read.value, read.kind, "duplicate", msg)
        if read.kind == CodeKind.RECEIPT:
            return await self._receipt(scan_id, read, ctx, now)
        if read.kind == CodeKind.REWARD:
            return await self._reward(scan_id, read, ctx, now)
        if ctx.mode in ("kiosk", "manual"):
            return await self._visit(scan_id, read, ctx, now)
        return self._autopilot(scan_id, read, ctx, now)

    # -- outcomes ------------------------------------------------------------------------

    def _row(
        self,
        scan_id: str,
        ctx: ScanContext,
        now: datetime,
        code: str,
        kind: str | None,
        outcome: str,
        reason: str | None = None,
        order_id: str | None = None,
    ) -> Stmt:
        return scan_log.scan_row(
            scan_id=scan_id,
            code=code,
            kind=kind,
            till=ctx.till,
            source=ctx.source,
            outcome=outcome,
            reason=reason,
            order_id=order_id,
            at=now.timestamp(),
        )

    def _reject(
        self,
        scan_id: str,
        ctx: ScanContext,
        now: datetime,
        code: str,
        kind: str | None,
        reason: str,
        message: str,
        order_id: str | None = None,
    ) -> ScanResult:
        self.recorder.add(self._row(scan_id, ctx, now, code, kind, "rejected", reason, order_id))
        self.metrics.outcomes.labels("rejected").inc()
        self.metrics.rejections.labels(reason).inc()
        return ScanResult(
            scan_id=scan_id,
            outcome="rejected",
            kind=kind,
            reason=reason,
            message=message,
            order_id=order_id,
        )

    async def _receipt(
        self, scan_id: str, code: ScannedCode, ctx: ScanContext, now: datetime
    ) -> ScanResult:
        """A receipt QR shown to a scanner: name its check and say how to collect it."""
        secret = self.settings.cloud.device_secret.get_secret_value()
        order_id = None
        try:
            claim = claim_token.verify(code.value, secret=secret, now=now)
        except claim_token.TokenError as err:
            if err.problem == claim_token.TokenProblem.EXPIRED:
                msg = "a receipt whose code has expired: its stamps can no longer be collected"
            else:
                msg = (
                    "a receipt from another till or shop: open its QR with the phone's "
                    "camera to collect the stamps"
                )
        else:
            order_id, msg = await self._receipt_order(claim)
        return self._reject(scan_id, ctx, now, code.value, code.kind, "receipt_qr", msg, order_id)

    async def _receipt_order(self, claim: claim_token.ClaimToken) -> tuple[str | None, str]:
        issued = claim.issued_at.timestamp()
        rows = await self.db.fetchall(
            "SELECT order_id, till, customer, voided_at FROM orders "
            "WHERE created_at >= ? AND created_at < ?",
            (issued - 1, issued + 2),
        )
        for row in rows:
            if claim.order_ref in claim_token.order_refs(row["order_id"], row["till"]):
                order_id: str = row["order_id"]
                if row["voided_at"] is not None:
                    return order_id, f"the receipt of check {order_id}, which was voided"
                if row["customer"]:
                    return order_id, f"the receipt of check {order_id}; its stamps went to a card"
                return order_id, (
                    f"the receipt of check {order_id} ({claim.stamps} stamps): open its QR "
                    "with the phone's camera to collect them; a Wallet card is scanned instead "
                    "of the receipt"
                )
        return None, "a receipt of this till whose check this agent no longer has"

    async def _reward(
        self, scan_id: str, code: ScannedCode, ctx: ScanContext, now: datetime
    ) -> ScanResult:
        """A reward code at a till: redeemed for the till's next check."""
        if ctx.mode == "kiosk" or self.redeemer is None:
            msg = "reward codes are redeemed at a till, by the cashier"
            return self._reject(scan_id, ctx, now, code.value, code.kind, "not_here", msg)
        try:
            answer = await self.redeemer(code.value, ctx.till)
        except AgentError as err:
            return self._reject(scan_id, ctx, now, code.value, code.kind, err.code, err.message)
        self.recorder.add(self._row(scan_id, ctx, now, code.value, code.kind, "redeemed"))
        self.metrics.outcomes.labels("redeemed").inc()
        product = answer.pos_product
        ring = f": ring up {product.name} ({product.sku}) at zero price" if product else ""
        return ScanResult(
            scan_id=scan_id,
            outcome="redeemed",
            kind=code.kind,
            reward=answer,
            message=f"{answer.title} redeemed for this till's next check{ring}",
        )

    async def _visit(
        self, scan_id: str, code: ScannedCode, ctx: ScanContext, now: datetime
    ) -> ScanResult:
        """A visit: the program's per-order stamps. At the kiosk once per card per cooldown;
        by staff (``manual``) at once, and it starts the card's kiosk cooldown too, so the
        same visit cannot be stamped again at the kiosk."""
        customer = _ref(code.kind, code.value)
        card = await self._card(code)
        if card.known is False:
            msg = "this card is not one of ours (the cloud does not know it)"
            return self._reject(scan_id, ctx, now, code.value, code.kind, "unknown_card", msg)
        cooldown = self.settings.agent.kiosk_cooldown_s
        program = self.program.current
        async with self._kiosk_lock:  # check-then-stamp must not interleave for one card
            if ctx.mode == "kiosk":
                row = await self.db.fetchone(
                    "SELECT stamped_at FROM scan_cooldowns WHERE customer_key = ?", (card.key,)
                )
                left = cooldown_left(row["stamped_at"] if row else None, now.timestamp(), cooldown)
                if left > 0:
                    self.recorder.add(
                        self._row(scan_id, ctx, now, code.value, code.kind, "throttled", "cooldown")
                    )
                    self.metrics.outcomes.labels("throttled").inc()
                    return ScanResult(
                        scan_id=scan_id,
                        outcome="throttled",
                        kind=code.kind,
                        reason="cooldown",
                        customer=customer,
                        retry_after_s=round(left, 3),
                        message=f"this card was stamped here already; next visit in {left:.0f} s",
                    )
            stamps = min(program.stamps_per_order, stamps_cap(program))
            if stamps <= 0:
                msg = "this program gives no stamps per visit"
                return self._reject(scan_id, ctx, now, code.value, code.kind, "no_stamps", msg)
            event = NewEvent(
                event_id=UUID(new_event_id()),
                type=EventType.SCAN_STAMPED,
                payload=ScanPayload(
                    scan_id=scan_id, customer=customer, till=ctx.till, stamps=stamps
                ).model_dump(mode="json", exclude_none=True),
                device_time=now,
            )
            stmts = [
                self._row(scan_id, ctx, now, code.value, code.kind, "stamped"),
                scan_log.cooldown_set(card.key, now.timestamp(), scan_id),
            ]
            try:
                await self.db.write([event_statement(event, time.time()), *stmts])
            except DbError as err:
                raise Unavailable(f"the scan was not recorded: {err}", code="not_recorded") from err
        self.metrics.outcomes.labels("stamped").inc()
        balance = None if card.balance is None else card.balance + stamps
        return ScanResult(
            scan_id=scan_id,
            outcome="stamped",
            kind=code.kind,
            stamps=stamps,
            customer=customer,
            message=f"{stamps} stamp{'s' if stamps != 1 else ''} added",
            balance=balance,
            goal=program.goal,
            reward_reached=balance is not None
            and card.balance is not None
            and card.balance < program.goal <= balance,
            offline=card.known is None,
        )

    async def _card(self, code: ScannedCode) -> "CardSeen":
        """What the agent knows of the scanned card: the cache first, else the cloud.

        One key per customer, so a card code and its number share a cooldown.
        """
        column = "card_code" if code.kind == CodeKind.CARD else "number"
        row = await self.db.fetchone(
            f"SELECT customer_id, balance FROM cards WHERE {column} = ? LIMIT 1",  # noqa: S608
            (code.value,),
        )
        if row:
            return CardSeen(f"customer:{row['customer_id']}", row["balance"], True)
        key = f"{code.kind}:{code.value}"
        online = self.lookup() if self.lookup is not None else None
        found = await online.lookup(code.value) if online is not None else None
        if found is None:
            return CardSeen(key, None, None)  # the cloud cannot answer now: stamp, say so
        for c in found:
            if c.get(column) == code.value:
                cid, balance = c.get("customer_id"), c.get("balance")
                return CardSeen(
                    f"customer:{cid}" if cid else key,
                    balance if isinstance(balance, int) else None,
                    True,
                )
        return CardSeen(key, None, False)

    def _autopilot(
        self, scan_id: str, code: ScannedCode, ctx: ScanContext, now: datetime
    ) -> ScanResult:
        """A card at a till: wait for the till's next check (see the module's rule)."""
        waiting = PendingScan(scan_id, ctx.till, code.kind, code.value, now.timestamp())
        replaced = self.book.put(waiting)
        if replaced is not None:
            self.recorder.add(
                scan_log.scan_resolved(replaced.scan_id, "rejected", "replaced", None)
            )
            self.metrics.autopilot.labels("replaced").inc()
        self.recorder.add(self._row(scan_id, ctx, now, code.value, code.kind, "pending"))
        self.metrics.outcomes.labels("pending").inc()
        window = self.settings.agent.autopilot_window_s
        return ScanResult(
            scan_id=scan_id,
            outcome="pending",
            kind=code.kind,
            customer=_ref(code.kind, code.value),
            message=f"the card goes to this till's check (waiting up to {window:g} s)",
        )

    # -- Autopilot: the orders' hook and the window's end ---------------------------------

    def take_pending(self, till: str | None, now: datetime) -> CustomerRef | None:
        """The card waiting at ``till`` for this check, if one is inside its window."""
        waiting = self.book.take(till, now.timestamp())
        if waiting is None:
            return None
        card = scan_log.customer_json(waiting.kind, waiting.value)
        self.recorder.add(
            scan_log.scan_taken_by_next_order(waiting.scan_id, till, card, waiting.scanned_at)
        )
        self.metrics.autopilot.labels("next_order").inc()
        self._taken[till] = waiting
        return _ref(waiting.kind, waiting.value)

    def put_back(self, till: str | None, customer: CustomerRef, now: datetime) -> None:
        """Undo ``take_pending``: the check was a repeat of one already recorded."""
        taken = self._taken.pop(till, None)
        if taken is None or _ref(taken.kind, taken.value) != customer or self.book.waiting(till):
            return  # not ours, or a newer card already waits at that till
        self.book.put(taken)
        self.recorder.add(scan_log.scan_resolved(taken.scan_id, "pending", None, None))
        self.metrics.autopilot.labels("put_back").inc()

    async def expire_pending(self, now: datetime) -> None:
        """Cards whose window passed with no next check go to the latest check before them."""
        window = self.settings.agent.autopilot_window_s
        for waiting in self.book.expired(now.timestamp()):
            at = datetime.fromtimestamp(waiting.scanned_at, UTC)
            customer = _ref(waiting.kind, waiting.value)
            try:
                order_id = await self.orders.attach_latest(waiting.till, customer, at, window)
            except AgentError as err:
                log.error("Autopilot could not attach scan %s: %s", waiting.scan_id, err)
                order_id = None
            if order_id is None:
                stmt = scan_log.scan_resolved(waiting.scan_id, "rejected", "no_order", None)
                self.metrics.autopilot.labels("no_order").inc()
            else:
                stmt = scan_log.scan_resolved(waiting.scan_id, "attached", "latest_order", order_id)
                self.metrics.autopilot.labels("latest_order").inc()
            self.recorder.add(stmt)

    async def run_expiry(self) -> None:
        """Background task: resolve waiting cards when their window ends."""
        while True:
            deadline = self.book.next_deadline()
            delay = 1.0
            if deadline is not None:
                delay = min(1.0, max(0.05, deadline - self.clock().timestamp()))
            await asyncio.sleep(delay)
            await self.expire_pending(self.clock())
