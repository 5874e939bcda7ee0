"""The mail sender's loop (``drain_loop.DrainLoop``, shared with the wallet push worker) on each
backend: it stops when the cloud stops even as a message wakes it, and a database hiccup does
not stop it for good."""

import asyncio
import contextlib
import logging

import pytest

from config import load_cloud_settings
from sync.cloud.book import to_us
from sync.cloud.mail.sender import MailSender
from sync.cloud.store import Store, mail_outbox
from tests.clock import Clock
from tests.sync.cloud.mail_sink import SmtpSink, smtp

__all__ = ["smtp"]


async def _stop(task: "asyncio.Task[None]") -> bool:
    """Cancel the task; True if it ended cancelled (a guard, not a timing: a lost cancel hangs)."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=30)
    if task not in done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    return task.cancelled()


async def test_given_a_message_queued_as_the_cloud_stops_then_the_sender_stops(
    store: Store,
) -> None:
    """Given the sender idle, when a message wakes it in the same moment as the cloud's shutdown
    cancels it, then it stops. (It waited with ``asyncio.wait_for``, which on Python 3.11 let
    the wake win and lost the cancel: the sender ran on and the shutdown waited forever; the
    push worker had been fixed for this, the sender's copy of the loop had not.)"""
    sender = MailSender(load_cloud_settings(None, {}).mail, Clock())
    task = asyncio.create_task(sender.run(store.db))
    while not sender.idle:  # its first look at the outbox is done
        await asyncio.sleep(0.01)
    sender.wake()
    assert await _stop(task), "the sender kept running after it was cancelled"


async def test_given_the_outbox_unreadable_for_a_while_then_the_sender_goes_on_sending(
    store: Store, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    """Given the outbox table gone for a moment (a database hiccup) when the sender looks for
    work, then it logs the failure and stays up, and once the table is back a queued message
    arrives. (Reading when the next message is due sat outside the sender's error handling:
    the first failed read ended the task, and no mail went out until the cloud restarted.)"""
    clock = Clock()
    section = load_cloud_settings(
        None, {"mail": {"host": "127.0.0.1", "port": smtp.port, "tls": "none"}}
    ).mail
    async with store.db.write(0) as tx:
        await tx.execute("ALTER TABLE mail_outbox RENAME TO mail_outbox_away")
    sender = MailSender(section, clock)
    with caplog.at_level(logging.ERROR, logger="sync.cloud.drain_loop"):
        task = asyncio.create_task(sender.run(store.db))
        while "could not read when work is next due" not in caplog.text and not task.done():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert not task.done(), "the sender stopped at the first failed read"
    async with store.db.write(0) as tx:
        await tx.execute("ALTER TABLE mail_outbox_away RENAME TO mail_outbox")
        await mail_outbox.enqueue(
            tx, 1, None, "test", "ann@example.com", "Hello", "Body", {}, to_us(clock())
        )
    sender.wake()
    [msg] = await smtp.sink.wait_for(1)
    assert msg["To"] == "ann@example.com" and not task.done()
    assert await _stop(task)
