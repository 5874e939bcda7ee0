"""One SMTP conversation (stdlib ``smtplib``, run on a worker thread by the sender).

``tls``: ``none`` (plain, port 25 inside a trusted network), ``starttls`` (upgrade after
``EHLO``; a server that does not offer it is an error, never a silent fall back to plain) or
``tls`` (implicit TLS from the first byte, port 465). The password is read from its
``SecretStr`` only here, and never appears in an error text.
"""

import smtplib
import ssl
from email.message import EmailMessage

from config.cloud import MailSection


class MailError(Exception):
    """A message could not be handed to the SMTP server (the outbox retries it)."""


def send_blocking(section: MailSection, message: EmailMessage, context: ssl.SSLContext) -> None:
    """Hand ``message`` to the configured server (blocking: call it on a worker thread)."""
    if not section.host:
        raise MailError("no [mail] host is configured: the message waits in the outbox")
    try:
        smtp: smtplib.SMTP
        if section.tls == "tls":
            smtp = smtplib.SMTP_SSL(
                section.host, section.port, timeout=section.timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(section.host, section.port, timeout=section.timeout_s)
        with smtp:
            smtp.ehlo()
            if section.tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if section.user:
                smtp.login(section.user, section.password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as err:
        raise MailError(f"the SMTP server refused the login of {section.user!r}") from err
    except (smtplib.SMTPException, OSError) as err:
        raise MailError(f"{type(err).__name__}: {_first_line(err)}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""
