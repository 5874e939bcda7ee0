"""The customer's own data-protection requests on the card page (issue #19): "Download my data"
and "Erase my card and my data" (a required tick box: nothing is erased by one stray tap), the
page after the erasure, and the answers for a phone that may not ask."""

from html import escape
from typing import Literal

from sync.cloud.ui.layout import page
from sync.cloud.ui.texts import t

Refusal = Literal["no_card", "unverified", "unconfirmed"]
_REFUSALS: dict[Refusal, tuple[str, str]] = {  # the keys spelled out: the catalogues' checks
    "no_card": ("privacy.no_card.title", "privacy.no_card.body"),
    "unverified": ("privacy.unverified.title", "privacy.unverified.body"),
    "unconfirmed": ("privacy.unconfirmed.title", "privacy.unconfirmed.body"),
}
_BOX = 'style="width:24px;height:24px;vertical-align:middle"'


def privacy_forms(lang: str = "en") -> str:
    """The card page's section for a card with a verified email: export and erasure."""
    return (
        f'<section class="card" id="my-data"><h2>{escape(t("privacy.title", lang))}</h2>'
        f'<p class="mute">{escape(t("privacy.export.hint", lang))}</p>'
        '<form method="post" action="/card/export"><p><button class="btn" type="submit" '
        f'id="export">{escape(t("privacy.export.button", lang))}</button></p></form>'
        f'<p class="mute">{escape(t("privacy.erase.hint", lang))}</p>'
        '<form method="post" action="/card/erase">'
        f'<p><input type="checkbox" name="confirm" value="yes" id="erase-confirm" required {_BOX}>'
        f' <label for="erase-confirm">{escape(t("privacy.erase.confirm", lang))}</label></p>'
        '<p><button class="btn" type="submit" id="erase" style="background:var(--bad)">'
        f"{escape(t('privacy.erase.button', lang))}</button></p></form></section>"
    )


def render_erased(lang: str = "en") -> str:
    """After the erasure: what happened, and that the phone no longer keeps a card."""
    body = (
        f'<section class="card" id="erased"><h1>{escape(t("privacy.erased.title", lang))}</h1>'
        f"<p>{escape(t('privacy.erased.body', lang))}</p></section>"
    )
    return page(t("privacy.erased.title", lang), body, lang=lang)


def render_refused(problem: Refusal, lang: str = "en") -> str:
    """Why this phone may not export or erase (no card of its own, no verified email, or the
    erasure was not confirmed); nothing was changed."""
    back = (
        f'<p><a href="/card">{escape(t("claim.open_card", lang))}</a></p>'
        if problem != "no_card"
        else ""
    )
    title, text = (t(key, lang) for key in _REFUSALS[problem])
    body = (
        f'<section class="card" id="problem" data-problem="{problem}">'
        f'<h1>{escape(title)}</h1><p class="bad" role="alert">{escape(text)}</p>'
        f"</section>{back}"
    )
    return page(title, body, lang=lang)
