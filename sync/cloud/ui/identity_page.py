"""The customer's own identity on the pages: the email form ("I have a card already"), the
page a sign-in link opens (one button: mail scanners prefetch links), marketing consent and
"no more offers"."""

from collections.abc import Mapping
from html import escape
from typing import Literal

from sync.cloud.ui.layout import page
from sync.cloud.ui.texts import t

SignInProblem = Literal["used", "expired", "invalid"]
_INPUT = 'style="font:inherit;padding:10px;width:100%;min-height:48px"'
# The catalogue keys by problem and channel, spelled whole so the catalogue test finds them.
SIGN_IN_TEXTS: dict[str, tuple[str, str]] = {
    "used": ("signin.used.title", "signin.used.body"),
    "expired": ("signin.expired.title", "signin.expired.body"),
    "invalid": ("signin.invalid.title", "signin.invalid.body"),
}
CONSENT_TEXTS: dict[str, str] = {"email": "consent.email", "wallet": "consent.wallet"}
CHANNEL_TEXTS: dict[str, str] = {
    "email": "unsubscribe.channel.email",
    "wallet": "unsubscribe.channel.wallet",
}


def email_form(action: str, *, have_card: bool, lang: str = "en") -> str:
    """The email section: a link to this address opens (or finds) the card on any phone."""
    head = t("email.have_card", lang) if have_card else t("email.title", lang)
    return (
        f'<section class="card" id="email"><h2>{escape(head)}</h2>'
        f'<p class="mute">{escape(t("email.hint", lang))}</p>'
        + _email_fields(action, lang)
        + "</section>"
    )


def verified_email_section(email: str, action: str, lang: str = "en") -> str:
    """The email section of a card whose address is verified: the address (as the consent
    section shows it) and, folded, the form that changes it (a link to the new address)."""
    return (
        f'<section class="card" id="email"><h2>{escape(t("email.title", lang))}</h2>'
        f'<p id="email-current">{escape(t("email.verified", lang, email=email))}</p>'
        f'<details id="email-change"><summary>{escape(t("email.change", lang))}</summary>'
        f'<p class="mute">{escape(t("email.change_hint", lang))}</p>'
        + _email_fields(action, lang)
        + "</details></section>"
    )


def _email_fields(action: str, lang: str) -> str:
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<p><label for="email-address">{escape(t("email.label", lang))}</label><br>'
        f'<input id="email-address" name="email" type="email" autocomplete="email" required '
        f'maxlength="254" {_INPUT}></p>'
        f'<p><button class="btn" type="submit" id="send-link">{escape(t("email.button", lang))}'
        "</button></p></form>"
    )


def consent_form(
    email: str | None, answers: Mapping[str, bool], lang: str = "en", *, saved: bool = False
) -> str:
    """Marketing consent per channel, off until the customer ticks it; email offers need a
    verified address (``saved``: just after the customer saved the form)."""
    boxes = []
    for channel in ("email", "wallet"):
        disabled = channel == "email" and not email
        checked = " checked" if answers.get(channel) else ""
        boxes.append(
            f'<p><input type="checkbox" name="{channel}" value="yes" id="consent-{channel}"'
            f'{checked}{" disabled" if disabled else ""} style="width:24px;height:24px;'
            f'vertical-align:middle"> <label for="consent-{channel}">'
            f"{escape(t(CONSENT_TEXTS[channel], lang))}</label></p>"
        )
    needs = "" if email else f'<p class="mute">{escape(t("consent.needs_email", lang))}</p>'
    verified = (
        f'<p id="verified-email">{escape(t("email.verified", lang, email=email))}</p>'
        if email
        else ""
    )
    done = (
        f'<p id="consent-saved" role="status">{escape(t("consent.saved", lang))}</p>'
        if saved
        else ""
    )
    return (
        f'<section class="card" id="consent"><h2>{escape(t("consent.title", lang))}</h2>'
        f"{verified}{done}"
        '<form method="post" action="/card/consent">'
        + "".join(boxes)
        + needs
        + f'<p class="mute">{escape(t("consent.hint", lang))}</p>'
        f'<p><button class="btn" type="submit" id="save-consent">'
        f"{escape(t('consent.save', lang))}</button></p></form></section>"
    )


def phone_form(phone: str | None, lang: str = "en", *, saved: bool = False) -> str:
    """The phone section: a number the till can find the card by (empty removes it)."""
    done = (
        f'<p id="phone-saved" role="status">{escape(t("phone.saved", lang))}</p>' if saved else ""
    )
    return (
        f'<section class="card" id="phone"><h2>{escape(t("phone.title", lang))}</h2>{done}'
        f'<p class="mute">{escape(t("phone.hint", lang))}</p>'
        '<form method="post" action="/card/phone">'
        f'<p><label for="phone-number">{escape(t("phone.label", lang))}</label><br>'
        f'<input id="phone-number" name="phone" type="tel" autocomplete="tel" maxlength="40" '
        f'value="{escape(phone or "")}" {_INPUT}></p>'
        f'<p><button class="btn" type="submit" id="save-phone">{escape(t("phone.button", lang))}'
        "</button></p></form></section>"
    )


def render_bad_phone(taken: bool, lang: str = "en") -> str:
    """A number that cannot be one, or that is another card's."""
    return _refusal("phone.title", "phone.taken" if taken else "phone.bad", "/card", lang)


def _refusal(title: str, text: str, back: str, lang: str) -> str:
    """A form's answer that was refused: the section's title, why (an alert), the way back."""
    body = (
        f'<section class="card" id="problem"><h1>{escape(t(title, lang))}</h1>'
        f'<p class="bad" role="alert">{escape(t(text, lang))}</p></section>'
        f'<p><a href="{escape(back)}">{escape(t("claim.open_card", lang))}</a></p>'
    )
    return page(t(title, lang), body, lang=lang)


def render_link_sent(minutes: int, back: str, lang: str = "en") -> str:
    """After asking for a link: the same answer whether or not the address has a card."""
    body = (
        f'<section class="card" id="link-sent"><h1>{escape(t("email.sent.title", lang))}</h1>'
        f"<p>{escape(t('email.sent.body', lang, minutes=minutes))}</p></section>"
        f'<p><a href="{escape(back)}">{escape(t("claim.open_card", lang))}</a></p>'
    )
    return page(t("email.sent.title", lang), body, lang=lang)


def render_bad_email(back: str, lang: str = "en") -> str:
    """An address that cannot be one."""
    return _refusal("email.title", "email.bad", back, lang)


def render_sign_in(action: str, lang: str = "en") -> str:
    """What a sign-in link shows: one button; only pressing it uses the link."""
    body = (
        f'<section class="card" id="sign-in"><h1>{escape(t("signin.title", lang))}</h1>'
        f"<p>{escape(t('signin.body', lang))}</p>"
        f'<form method="post" action="{escape(action)}"><button class="btn" type="submit" '
        f'id="continue">{escape(t("signin.button", lang))}</button></form></section>'
    )
    return page(t("signin.title", lang), body, lang=lang, langs=True)


def render_sign_in_problem(problem: SignInProblem, lang: str = "en") -> str:
    """A link that was used, expired or never existed."""
    title, text = SIGN_IN_TEXTS[problem]
    body = (
        f'<section class="card" id="problem" data-problem="{problem}">'
        f"<h1>{escape(t(title, lang))}</h1>"
        f"<p>{escape(t(text, lang))}</p></section>"
    )
    return page(t(title, lang), body, lang=lang)


def render_unsubscribe(action: str, channel: str, done: bool, lang: str = "en") -> str:
    """ "No more offers" from a message's link: a button, then the answer."""
    what = t(CHANNEL_TEXTS[channel], lang)
    inner = (
        f'<p id="unsubscribed">{escape(t("unsubscribe.done", lang))}</p>'
        if done
        else f"<p>{escape(t('unsubscribe.body', lang, channel=what))}</p>"
        f'<form method="post" action="{escape(action)}"><button class="btn" type="submit" '
        f'id="unsubscribe">{escape(t("unsubscribe.button", lang))}</button></form>'
    )
    body = (
        f'<section class="card" id="no-offers"><h1>{escape(t("unsubscribe.title", lang))}</h1>'
        f"{inner}</section>"
    )
    return page(t("unsubscribe.title", lang), body, lang=lang, langs=True)
