"""The mail sender: a task in the app's ``cleanup_ctx`` that empties the outbox through SMTP.

It wakes when this process queued a message, and polls every ``POLL_S`` for messages another
process queued or a retry that fell due (the loop: ``drain_loop.DrainLoop``). Each message is
sent on a worker thread (``smtplib`` blocks); a slow or absent server delays only this task,
never a request. A failure is retried with exponential backoff (tenacity's
``wait_exponential``: 30 s, 60 s ... up to an hour) until ``mail_outbox.MAX_ATTEMPTS``.
"""

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from aiohttp import web
from tenacity import RetryCallState, Retrying, wait_exponential

from config.cloud import MailSection
from sync.cloud.book import to_us
from sync.cloud.drain_loop import DrainLoop
from sync.cloud.http import CLOCK, SETTINGS, STORE
from sync.cloud.mail.smtp import MailError, send_blocking
from sync.cloud.store import mail_outbox
from sync.cloud.store.db import Db
from sync.cloud.store.mail_outbox import Outgoing

log = logging.getLogger(__name__)

POLL_S = 5.0
BATCH = 50
# with no server configured, due messages stay due: the wait must not fall to nothing
MIN_WAIT_S = 0.05
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0


def backoff_s(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failures (tenacity's exponential curve)."""
    retrying = Retrying(wait=wait_exponential(multiplier=BACKOFF_BASE_S, max=BACKOFF_CAP_S))
    state = RetryCallState(retrying, fn=None, args=(), kwargs={})
    state.attempt_number = max(1, attempts)
    return float(retrying.wait(state))


def build_message(section: MailSection, out: Outgoing) -> EmailMessage:
    """The RFC 5322 message of an outbox row."""
    msg = EmailMessage()
    msg["From"] = section.from_
    msg["To"] = out.to_addr
    msg["Subject"] = out.subject
    msg["Message-ID"] = make_msgid(domain=section.from_.rpartition("@")[2].strip("> ") or None)
    for name, value in out.headers.items():
        msg[name] = value
    msg.set_content(out.body)
    return msg


class MailSender:
    """Sends what the outbox holds; ``run()`` until cancelled."""

    def __init__(self, section: MailSection, clock: Callable[[], datetime]) -> None:
        self._db: Db | None = None  # the store's, once the app has opened it (``run``)
        self._section = section
        self._clock = clock
        self._tls = ssl.create_default_context()
        self._loop = DrainLoop(
            "mail sender", self.step, self._next_due_us, lambda: to_us(self._clock()),
            poll_s=POLL_S, min_wait_s=MIN_WAIT_S,
        )  # fmt: skip
        self.sent = 0

    @property
    def idle(self) -> bool:
        """Waiting for a message or the timer (between steps)."""
        return self._loop.idle

    def wake(self) -> None:
        """A message was queued: look now."""
        self._loop.wake()

    async def run(self, db: Db) -> None:
        """Send due messages of ``db``'s outbox, forever."""
        self._db = db
        await self._loop.run()

    async def _next_due_us(self) -> int | None:
        assert self._db is not None, "run() gives the sender its database"
        return await mail_outbox.next_due_us(self._db)

    async def step(self) -> bool:
        """Send what is due now; ``True`` if a full batch went (more may be waiting)."""
        assert self._db is not None, "run() gives the sender its database"
        if not self._section.host:
            return False  # no server configured: messages wait in the outbox, untried
        rows = await mail_outbox.take_due(self._db, to_us(self._clock()), BATCH)
        for out in rows:
            try:
                message = build_message(self._section, out)
                await asyncio.to_thread(send_blocking, self._section, message, self._tls)
            except (MailError, ValueError) as err:
                wait_us = int(backoff_s(out.attempts + 1) * 1e6)
                # the address is personal data: the log names the message, not its recipient
                log.warning("mail %s not sent (attempt %d): %s", out.id, out.attempts + 1, err)
                await mail_outbox.failed(self._db, out.id, str(err), to_us(self._clock()) + wait_us)
                continue
            await mail_outbox.sent(self._db, out.id, to_us(self._clock()))
            self.sent += 1
        return len(rows) == BATCH


MAILER = web.AppKey("mailer", MailSender)


def add_mail(app: web.Application) -> None:
    """Start the sender with the app (and stop it with the app); call it after the store's
    own lifecycle is in place (the sender uses the store's database)."""

    sender = MailSender(app[SETTINGS].mail, app[CLOCK])
    app[MAILER] = sender

    async def _mail_lifecycle(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(sender.run(app[STORE].db), name="mail-sender")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(_mail_lifecycle)
