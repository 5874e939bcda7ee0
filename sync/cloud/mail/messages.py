"""The texts of the cloud's messages (pure): from ``sync.web.texts``, with the footer every
message to a card carries (a signed "no more offers" link, also as ``List-Unsubscribe`` with
RFC 8058 one-click, so a mail client's own button works)."""

from sync.cloud.store.identity import Mail, Purpose
from sync.cloud.ui.texts import t

# What the link does, by purpose (keys spelled whole so the catalogue test finds them).
ACTION_TEXTS: dict[str, str] = {
    "attach": "mail.signin.action.attach",
    "claim": "mail.signin.action.claim",
}


def sign_in_mail(
    *, to_addr: str, business: str, purpose: Purpose, link: str, minutes: int,
    unsubscribe_url: str | None, customer_id: int | None, lang: str = "en",
) -> Mail:  # fmt: skip
    """The message carrying a one-time sign-in link."""
    body = t(
        "mail.signin.body", lang, business=business, link=link, minutes=minutes,
        action=t(ACTION_TEXTS[purpose], lang),
    )  # fmt: skip
    headers: dict[str, str] = {"Auto-Submitted": "auto-generated"}
    if unsubscribe_url:
        body += t("mail.footer", lang, url=unsubscribe_url)
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return Mail(
        kind=f"sign_in.{purpose}", to_addr=to_addr,
        subject=t("mail.signin.subject", lang, business=business), body=body, headers=headers,
        customer_id=customer_id,
    )  # fmt: skip
