"""State back to the edge: the branch's program and the card cache, pulled with a cursor.

``GET /v1/sync/state?cursor=N`` gives the program in full and the cards changed since ``N``
(``more`` when there are further pages); an answer without cards comes with an ``ETag`` that the
next pull sends back, and while nothing changed the cloud answers ``304``. Each page is stored in
one short write: the cards, the new cursor and the program, so a crash never leaves a cursor ahead
of the cards it covers. The program is also kept in the ``kv`` table so an agent restarted while
offline stamps by the last program the cloud sent, not by the config file's default; the
business's language likewise, so its receipts and pages keep speaking it.
"""

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

from sync.contract.card_code import canonical_card_text
from sync.contract.customers import canonical_email
from sync.contract.events import CardState, ProgramState
from sync.contract.languages import LANGUAGES, Language
from sync.edge.backoff import Backoff
from sync.edge.client import CloudClient, CloudRefused
from sync.edge.erasure import forget_customers
from sync.edge.errors import SyncError
from sync.edge.storage import Stmt, Storage
from sync.web.waiting import wait_set

log = logging.getLogger(__name__)
PROGRAM_KEY = "cloud.program"
CURSOR_KEY = "cloud.cursor"
ZONE_KEY = "cloud.timezone"  # the branch's IANA time zone as the cloud keeps it
COUNTRY_KEY = "cloud.country"  # the business's country: typed phone numbers are read in it
LANGUAGE_KEY = "cloud.language"  # the business's language: receipts and pages unless configured
MAX_PAGES = 1000  # a guard against a cloud that always says ``more``

UPSERT_CARD = (
    "INSERT INTO cards (customer_id, card_code, number, email, name, balance, updated_seq, "
    "phone) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer_id) DO UPDATE SET "
    "card_code = excluded.card_code, number = excluded.number, email = excluded.email, "
    "name = excluded.name, balance = excluded.balance, updated_seq = excluded.updated_seq, "
    "phone = excluded.phone"
)

DROP_REWARDS = "DELETE FROM card_rewards WHERE customer_id = ?"
PUT_REWARD = (
    "INSERT INTO card_rewards (code, customer_id, reward) VALUES (?, ?, ?) "
    "ON CONFLICT (code) DO UPDATE SET customer_id = excluded.customer_id, reward = excluded.reward"
)


def card_statements(cards: list[CardState]) -> list[Stmt]:
    """Upserts for the card cache (codes and emails in their canonical form, as the look-up
    asks), each card's open rewards replacing those cached before."""
    out: list[Stmt] = []
    for c in cards:
        if c.erased:  # forgotten (``erasure.forget_customers``), never cached again
            out.append(("DELETE FROM cards WHERE customer_id = ?", (c.customer_id,)))
            out.append((DROP_REWARDS, (c.customer_id,)))
            continue
        out.append(
            (
                UPSERT_CARD,
                (
                    c.customer_id,
                    canonical_card_text(c.card_code),
                    c.number,
                    canonical_email(c.email) if c.email else None,
                    c.name,
                    c.balance,
                    c.updated_seq,
                    c.phone,
                ),
            )
        )
        out.append((DROP_REWARDS, (c.customer_id,)))
        out.extend((PUT_REWARD, (r.code, c.customer_id, r.model_dump_json())) for r in c.rewards)
    return out


def kv_set(key: str, value: Any) -> Stmt:
    """The statement that stores ``value`` (as JSON) under ``key`` in the ``kv`` table."""
    return (
        "INSERT INTO kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, default=str)),
    )


async def kv_get(db: Storage, key: str) -> Any:
    """The JSON value stored under ``key``, or None."""
    row = await db.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
    return json.loads(row["value"]) if row else None


async def saved_country(db: Storage) -> str | None:
    """The business's country as the cloud last sent it (None: none, or never pulled)."""
    found = await kv_get(db, COUNTRY_KEY)
    return str(found) if found else None


async def saved_program(db: Storage) -> ProgramState | None:
    """The last program the cloud sent, as stored in ``kv`` (None before the first pull)."""
    raw = await kv_get(db, PROGRAM_KEY)
    return ProgramState.model_validate(raw) if raw else None


async def saved_language(db: Storage) -> Language | None:
    """The business's language the cloud last sent (None before the first pull)."""
    found = await kv_get(db, LANGUAGE_KEY)
    return next((lang for lang in LANGUAGES if lang == found), None)


async def saved_zone(db: Storage) -> str | None:
    """The branch's time zone the cloud last sent (None before the first pull)."""
    name = await kv_get(db, ZONE_KEY)
    return str(name) if name else None


class StatePuller:
    """Pulls the program and card changes; ``run()`` is a background task of the agent."""

    def __init__(
        self,
        db: Storage,
        client: CloudClient,
        apply_program: Callable[[ProgramState], bool],
        *,
        interval_s: float = 5.0,
        backoff: Backoff | None = None,
        min_gap_s: float = 0.5,
        on_ok: Callable[[], None] | None = None,
        on_fail: Callable[[SyncError], None] | None = None,
        apply_language: Callable[[Language], None] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.apply_program = apply_program
        self.interval_s = interval_s
        self.backoff = backoff or Backoff()
        self.min_gap_s = min_gap_s
        self.on_ok = on_ok
        self.on_fail = on_fail
        self.apply_language = apply_language
        self.pulled = asyncio.Event()  # set after every successful pull
        # The ``ETag`` of the last answer without cards and the cursor it left: sent back as
        # ``If-None-Match`` while the cursor is still that, so an unchanged state costs the
        # cloud a 304. In memory only: a restarted agent takes one full answer first.
        self._etag: tuple[int, str] | None = None

    async def pull_once(self) -> int:
        """Fetch every page of changes; the number of cards stored. Raises on link trouble."""
        cursor = int(await kv_get(self.db, CURSOR_KEY) or 0)
        stored = 0
        for _ in range(MAX_PAGES):
            etag = self._etag[1] if self._etag is not None and self._etag[0] == cursor else None
            try:
                state, tag = await self.client.get_state_unless(cursor, etag)
            except CloudRefused as err:
                if cursor == 0:
                    raise
                # A cursor this cloud does not accept (another database behind the same URL).
                log.warning("the cloud refused card cursor %d (%s); starting again", cursor, err)
                cursor = 0
                continue
            if state is None:
                break  # 304: nothing changed since the answer that gave the tag
            self._etag = (state.cursor, tag) if tag else None
            if state.cursor < cursor:
                # The cloud's sequence went back (a restored database): take everything again.
                log.warning("the cloud's card cursor went back (%d < %d)", state.cursor, cursor)
                cursor = 0
                continue
            program = state.program.model_dump(mode="json")
            erased = [c.customer_id for c in state.cards if c.erased]
            if erased:
                scrubbed = await self.db.on_writer(partial(forget_customers, erased))
                log.info("forgot %d erased customer(s); %d record(s) scrubbed",
                         len(erased), scrubbed)  # fmt: skip
            await self.db.write(
                [
                    *card_statements(state.cards),
                    kv_set(CURSOR_KEY, state.cursor),
                    kv_set(PROGRAM_KEY, program),
                    kv_set(ZONE_KEY, state.timezone),
                    kv_set(COUNTRY_KEY, state.country),
                    kv_set(LANGUAGE_KEY, state.language),
                ]
            )
            if self.apply_language is not None:
                self.apply_language(state.language)
            if self.apply_program(state.program):
                log.info(
                    "program now %s v%d from the cloud", state.program.rule, state.program.version
                )
            stored += len(state.cards)
            cursor = state.cursor
            if not state.more:
                break
        self.pulled.set()
        return stored

    async def run(self, trigger: asyncio.Event | None = None) -> None:
        """Pull now, then on ``trigger`` (after uploads) or every ``interval_s``."""
        trigger = trigger or asyncio.Event()
        while True:
            trigger.clear()
            try:
                await self.pull_once()
            except (SyncError, sqlite3.Error) as err:
                if self.on_fail is not None and isinstance(err, SyncError):
                    self.on_fail(err)
                delay = self.backoff.failed()
                log.info("state pull failed (%s); next try in %.1f s", err, delay)
                await asyncio.sleep(delay)
                continue
            self.backoff.succeeded()
            if self.on_ok is not None:
                self.on_ok()
            # While a backlog drains every batch sets the trigger: pull at most every min_gap_s.
            await asyncio.sleep(self.min_gap_s)
            await wait_set(trigger, self.interval_s)
