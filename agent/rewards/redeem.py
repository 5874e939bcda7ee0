"""Redeeming a reward at the till: once for the whole business, asked of the cloud.

Online, the cloud decides (``POST /v1/rewards/{code}/redeem``: one of any number of concurrent
redeems of a code wins, on any till). The cloud's refusals pass through as they are:
``409 already_redeemed``, ``409 not_active`` (with ``valid_from``), ``410 expired``,
``404 unknown_reward``. When the cloud cannot be reached, ``agent.offline_redeem`` says what
happens: ``refuse`` (the default) answers ``503 cloud_unreachable``; ``allow`` checks the card
cache (the sync state's open rewards), records a ``reward.redeemed`` event in the outbox in the
same transaction as the redemption, and answers ``source: "offline"``; the cloud keeps the first
redemption of a code and a second till's as a double redemption.

Every redemption made here is kept (``redemptions``): this agent never redeems one code twice,
and one till's concurrent redeems of a code wait for each other (a lock per code). A reward
redeemed at a till without naming its check (a scanner in ``redeem`` mode, or a POS that sends
only ``till``) goes on that till's next check (``take_waiting``, in the check's transaction),
whose receipt prints it; an identified customer's receipt also says which reward is ready.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from agent.db import AgentDb, DbError, KeyGuard, Stmt
from agent.http.errors import AgentError, Conflict, Gone, InvalidInput, NotFound, Unavailable
from agent.orders.event_ids import new_event_id
from agent.rewards.models import RedeemAnswer, RedeemRequest
from config import AgentSettings
from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.events import CustomerRef, EventType, OpenReward, RedeemPayload
from sync.contract.languages import DEFAULT_LANGUAGE, Language
from sync.contract.reward_code import normalize_reward_code
from sync.edge.client import (
    CloudAnswered,
    CloudAuthError,
    CloudClient,
    CloudRefused,
    CloudUnreachable,
)
from sync.edge.outbox import NewEvent, event_statement
from sync.web.texts import t

log = logging.getLogger(__name__)

KEEP = (
    "INSERT INTO redemptions (code, order_id, till, source, answer, event_id, redeemed_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING"
)
_CLOUD_ERRORS: dict[int, type[AgentError]] = {404: NotFound, 409: Conflict, 410: Gone}


def _guard(code: str) -> KeyGuard:
    return KeyGuard("redemptions", "code", "answer", code)


def receipt_line(answer: RedeemAnswer, lang: str = "en") -> str:
    """The receipt's line for a reward handed over on the check."""
    product = answer.pos_product
    item = f": {product.name} [{product.sku}] 0.00" if product is not None else ""
    return t("receipt.redeemed", lang, code=answer.code) + item


def unknown_code() -> NotFound:
    """The answer for text that is no reward code at all."""
    return NotFound("this is not a reward code", field="code", code="unknown_reward")


def _already(answer: RedeemAnswer) -> Conflict:
    when = answer.redeemed_at.isoformat()
    return Conflict(
        f"this reward was already redeemed at this till ({when})",
        field="code",
        code="already_redeemed",
        extra={"redeemed_at": when},
    )


def from_cloud(err: CloudAnswered) -> AgentError:
    """The cloud's refusal as this agent's answer (same status, code and extra keys)."""
    body = err.error
    kind = _CLOUD_ERRORS.get(err.status, Conflict)
    extra = {k: str(v) for k, v in body.items() if k not in ("code", "message", "field")}
    return kind(
        str(body.get("message") or "refused by the cloud"),
        field="code",
        code=str(body.get("code") or kind.code),
        extra=extra or None,
    )


def cloud_answer(got: dict[str, Any], req: RedeemRequest, now: datetime) -> RedeemAnswer:
    """The cloud's ``RedeemOut`` as the till's answer."""
    return RedeemAnswer(
        code=got["code"],
        kind=got["kind"],
        title=got["name"],
        valid_from=got.get("valid_from"),
        valid_until=got.get("expires_at"),
        pos_product=got.get("pos_product"),
        card_code=got.get("card_code"),
        order_id=req.order_id,
        till=req.till,
        redeemed_at=got.get("redeemed_at") or now,
        source="cloud",
    )


class RedeemService:
    """``redeem(code, request)``: the reward redeemed, or an ``AgentError`` saying why not."""

    def __init__(
        self,
        settings: AgentSettings,
        db: AgentDb,
        client: CloudClient | None,
        *,
        clock: Callable[[], datetime],
        language: Callable[[], Language] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.allow_offline = settings.agent.offline_redeem == "allow"
        configured = settings.agent.language or DEFAULT_LANGUAGE
        # the branch's (ProgramSource.language), of the receipt lines
        self._language = language or (lambda: configured)
        self.timeout_s = settings.agent.redeem_timeout_s
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._waiting: dict[str, list[RedeemAnswer]] = {}  # till -> redeemed, check to come
        self._taken: dict[str, list[RedeemAnswer]] = {}

    async def load_waiting(self) -> None:
        """Redemptions still waiting for their till's next check (kept over a restart)."""
        rows = await self.db.fetchall(
            "SELECT till, answer FROM redemptions WHERE order_id IS NULL AND till IS NOT NULL "
            "ORDER BY redeemed_at"
        )
        for r in rows:
            self._waiting.setdefault(r["till"], []).append(
                RedeemAnswer.model_validate_json(r["answer"])
            )

    def take_waiting(self, till: str | None, order_id: str) -> tuple[list[Stmt], list[str]]:
        """The till's redemptions put on check ``order_id``: statements and receipt lines."""
        if till is None or till not in self._waiting:
            return [], []
        taken = self._taken[till] = self._waiting.pop(till)
        stmts: list[Stmt] = []
        for answer in taken:
            on_check = answer.model_copy(update={"order_id": order_id})
            stmts.append(
                (
                    "UPDATE redemptions SET order_id = ?, answer = ? "
                    "WHERE code = ? AND order_id IS NULL",
                    (order_id, on_check.model_dump_json(), answer.code),
                )
            )
        return stmts, [receipt_line(a, self._language()) for a in taken]

    def put_back(self, till: str | None) -> None:
        """The check was not recorded: its redemptions wait for the next one again."""
        if till is not None and till in self._taken:
            self._waiting[till] = self._taken.pop(till) + self._waiting.get(till, [])

    async def ready_lines(self, customer: CustomerRef) -> list[str]:
        """ "Reward ready" lines for the card's active rewards (from the cache)."""
        if customer.card is not None:
            where, key = "c.card_code = ?", canonical_card_text(customer.card)
        elif customer.number is not None:
            where, key = "c.number = ?", customer.number
        else:
            where, key = "c.email = ?", canonical_email(customer.email or "")
        rows = await self.db.fetchall(
            "SELECT r.reward FROM card_rewards r JOIN cards c ON c.customer_id = r.customer_id "  # noqa: S608
            f"WHERE {where} AND r.code NOT IN (SELECT code FROM redemptions)",
            (key,),
        )
        now = self.clock()
        out = []
        for r in rows:
            reward = OpenReward.model_validate_json(r["reward"])
            if reward.valid_from <= now and (
                reward.valid_until is None or now < reward.valid_until
            ):
                lang = self._language()
                out.append(t("receipt.ready", lang, title=reward.title, code=reward.code))
        return out

    @contextmanager
    def _lock(self, code: str) -> Iterator[asyncio.Lock]:
        lock, users = self._locks.get(code, (asyncio.Lock(), 0))
        self._locks[code] = (lock, users + 1)
        try:
            yield lock
        finally:
            lock, users = self._locks[code]
            if users <= 1:
                del self._locks[code]
            else:
                self._locks[code] = (lock, users - 1)

    async def redeem_at_till(self, text: str, till: str | None) -> RedeemAnswer:
        """A reward code read by ``till``'s scanner: redeemed for that till's next check."""
        return await self.redeem(text, RedeemRequest(till=till))

    async def redeem(self, text: str, req: RedeemRequest) -> RedeemAnswer:
        """Redeem the reward ``text`` names once, on check ``req.order_id`` at ``req.till``."""
        try:
            code = normalize_reward_code(text)
        except ValueError as err:
            raise unknown_code() from err
        with self._lock(code) as lock:
            async with lock:
                done = await self.db.fetchone(_guard(code).sql(), (code,))
                if done is not None:
                    raise _already(RedeemAnswer.model_validate_json(done["answer"]))
                return await self._redeem(code, req)

    async def _redeem(self, code: str, req: RedeemRequest) -> RedeemAnswer:
        why = "no cloud link is configured"
        if self.client is not None:
            body = req.model_dump(exclude_none=True)
            try:
                got = await self.client.post_json(
                    f"/v1/rewards/{code}/redeem", body, timeout_s=self.timeout_s
                )
            except CloudAnswered as err:
                raise from_cloud(err) from err
            except CloudRefused as err:
                raise InvalidInput(str(err), field="code") from err
            except (CloudUnreachable, CloudAuthError) as err:
                why = str(err)
            else:
                try:
                    answer = cloud_answer(got, req, self.clock())
                except (KeyError, ValidationError) as err:
                    raise Unavailable(
                        f"the cloud's answer is not a reward ({err})", code="cloud_unreachable"
                    ) from err
                await self._keep(code, answer, [])
                return answer
        if not self.allow_offline:
            raise Unavailable(
                "the cloud cannot be reached to check this reward; try again when the "
                f"connection is back ({why})",
                code="cloud_unreachable",
            )
        log.warning("redeeming %s offline: %s", code, why)
        return await self._offline(code, req)

    async def _offline(self, code: str, req: RedeemRequest) -> RedeemAnswer:
        row = await self.db.fetchone(
            "SELECT r.reward, c.card_code FROM card_rewards r "
            "LEFT JOIN cards c ON c.customer_id = r.customer_id WHERE r.code = ?",
            (code,),
        )
        if row is None:
            raise NotFound(
                "this reward is not in this till's card cache, and the cloud cannot be reached "
                "to check it",
                field="code",
                code="unknown_reward",
            )
        reward = OpenReward.model_validate_json(row["reward"])
        now = self.clock()
        if reward.valid_until is not None and now >= reward.valid_until:
            raise Gone("this voucher has expired", field="code", code="expired")
        if now < reward.valid_from:
            starts = reward.valid_from.isoformat()
            raise Conflict(
                f"this voucher is not active yet: it is valid from {starts}",
                field="code",
                code="not_active",
                extra={"valid_from": starts},
            )
        answer = RedeemAnswer(
            code=code,
            kind=reward.kind,
            title=reward.title,
            valid_from=reward.valid_from,
            valid_until=reward.valid_until,
            pos_product=reward.pos_product,
            card_code=row["card_code"],
            order_id=req.order_id,
            till=req.till,
            redeemed_at=now,
            source="offline",
        )
        payload = RedeemPayload(code=code, order_id=req.order_id, till=req.till, redeemed_at=now)
        event = NewEvent(
            event_id=UUID(new_event_id()),
            type=EventType.REWARD_REDEEMED,
            payload=payload.model_dump(mode="json", exclude_none=True),
            device_time=now,
        )
        await self._keep(code, answer, [event_statement(event, time.time())], str(event.event_id))
        return answer

    async def _keep(
        self, code: str, answer: RedeemAnswer, extra: list[Stmt], event_id: str | None = None
    ) -> None:
        """Record the redemption (with the offline event, in one transaction)."""
        keep: Stmt = (
            KEEP,
            (code, answer.order_id, answer.till, answer.source, answer.model_dump_json(),
             event_id, answer.redeemed_at.timestamp()),
        )  # fmt: skip
        try:
            found = await self.db.write([*extra, keep], guard=_guard(code))
        except DbError as err:
            if answer.source == "cloud":
                # the cloud has redeemed it: the cashier hands it over; only our note is lost
                log.error("reward %s redeemed by the cloud but not noted here: %s", code, err)
                return
            raise Unavailable(str(err), code="not_recorded") from err
        if found is not None:
            raise _already(RedeemAnswer.model_validate_json(found["answer"]))
        if answer.order_id is None and answer.till is not None:
            self._waiting.setdefault(answer.till, []).append(answer)
