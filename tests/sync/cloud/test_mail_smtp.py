"""The SMTP conversation against a real local server (aiosmtpd): what arrives, and a server
that cannot do what ``tls`` asks is an error, never a silent fall back to plain text."""

import asyncio
import ssl
from email.message import EmailMessage

import pytest

from config import load_cloud_settings
from config.cloud import MailSection
from sync.cloud.mail.sender import backoff_s, build_message
from sync.cloud.mail.smtp import MailError, send_blocking
from sync.cloud.store.mail_outbox import Outgoing
from tests.sync.cloud.mail_sink import SmtpSink, smtp

__all__ = ["smtp"]


def _section(port: int, tls: str, **more: str) -> MailSection:
    return load_cloud_settings(
        None,
        {"mail": {"host": "127.0.0.1", "port": port, "tls": tls, "from": "Cafe <s@cafe.example>",
                  **more}},
    ).mail  # fmt: skip


def _message(section: MailSection) -> EmailMessage:
    out = Outgoing(1, 1, "ann@example.com", "Hello", "Body text",
                   {"List-Unsubscribe": "<https://x.example/u>"}, 0)  # fmt: skip
    return build_message(section, out)


async def test_given_a_plain_server_when_a_message_is_sent_then_it_arrives_whole(
    smtp: SmtpSink,
) -> None:
    section = _section(smtp.port, "none")
    await asyncio.to_thread(send_blocking, section, _message(section), ssl.create_default_context())
    [msg] = await smtp.sink.wait_for(1)
    assert msg["From"] == "Cafe <s@cafe.example>" and msg["To"] == "ann@example.com"
    assert msg["Message-ID"].endswith("@cafe.example>")
    assert msg["List-Unsubscribe"] == "<https://x.example/u>"
    assert msg.get_content().strip() == "Body text"


async def test_given_starttls_asked_when_the_server_has_none_then_nothing_goes_in_plain_text(
    smtp: SmtpSink,
) -> None:
    section = _section(smtp.port, "starttls", user="shop", password="hunter2")
    with pytest.raises(MailError) as err:
        await asyncio.to_thread(
            send_blocking,
            section,
            _message(section),
            ssl.create_default_context(),
        )
    assert "hunter2" not in str(err.value)
    assert smtp.sink.messages == []


def test_the_retry_waits_grow_and_stop_at_an_hour() -> None:
    waits = [backoff_s(n) for n in range(1, 12)]
    assert waits[0] == 30 and waits[1] == 60 and waits == sorted(waits) and waits[-1] == 3600
