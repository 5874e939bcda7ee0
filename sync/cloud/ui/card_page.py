"""The customer's card: its QR ``card_code`` and six-digit number to show at the till, the
balance drawn as stamps, and the vouchers with their state."""

from datetime import date
from html import escape
from typing import Literal

from pydantic import BaseModel

from sync.cloud.ui.layout import page
from sync.cloud.ui.svg import qr_svg, stamp_row
from sync.cloud.ui.texts import plural, t
from sync.web.locale_format import day
from sync.web.page_table import scroll_table

# The card page lists this many vouchers at most: a page stays small whatever a card holds.
VOUCHERS_SHOWN = 50


class VoucherView(BaseModel):
    """A voucher on the card."""

    name: str
    code: str
    state: Literal["issued", "active", "redeemed", "expired"]
    valid_until: date | None = None


class CardView(BaseModel):
    """What the card page shows."""

    card_code: str
    number: str
    balance: int
    goal: int
    vouchers: list[VoucherView] = []
    business: str = ""
    apple_wallet_url: str | None = None  # only when [wallet.apple] is configured
    google_wallet_url: str | None = None  # only when [wallet.google] is configured


def wallet_buttons(apple_url: str | None, google_url: str | None, lang: str = "en") -> str:
    """ "Add to Apple Wallet" / "Save to Google Wallet" as plain labelled buttons (each only
    when its wallet is configured; nothing without either)."""
    links = []
    if apple_url:
        links.append(
            f'<a class="btn" id="add-apple-wallet" href="{escape(apple_url)}">'
            f"{escape(t('wallet.apple', lang))}</a>"
        )
    if google_url:
        links.append(
            f'<a class="btn" id="save-google-wallet" href="{escape(google_url)}">'
            f"{escape(t('wallet.google', lang))}</a>"
        )
    if not links:
        return ""
    return (
        '<section class="card" id="wallet">'
        f'<p class="mute">{escape(t("wallet.hint", lang))}</p>'
        f'<p style="display:flex;flex-wrap:wrap;gap:8px">{"".join(links)}</p></section>'
    )


VOUCHER_STATES: dict[str, str] = {
    "issued": "voucher.issued",
    "active": "voucher.active",
    "redeemed": "voucher.redeemed",
    "expired": "voucher.expired",
}


def _voucher_state(v: VoucherView, lang: str) -> str:
    state = t(VOUCHER_STATES[v.state], lang)
    if v.valid_until is not None and v.state in ("issued", "active"):
        state += ", " + t("voucher.valid", lang, date=day(v.valid_until, lang))
    return state


def render_card(view: CardView, lang: str = "en", extra: str = "") -> str:
    """The card page (``extra``: more sections, already escaped)."""
    rows = [
        [
            escape(v.name),
            f'<code class="vcode">{escape(v.code)}</code>',
            escape(_voucher_state(v, lang)),
        ]
        for v in view.vouchers[:VOUCHERS_SHOWN]
    ]
    more = (
        f'<p id="more-rewards">'
        f"{escape(plural('rewards.more', len(view.vouchers) - VOUCHERS_SHOWN, lang))}</p>"
        if len(view.vouchers) > VOUCHERS_SHOWN
        else ""
    )
    heading = t("card.vouchers", lang)
    head = [t(key, lang) for key in ("card.col.reward", "card.col.code", "card.col.state")]
    body = (
        f'<h1 id="shop">{escape(view.business or t("card.title", lang))}</h1>'
        '<section class="card" id="card">'
        f'<p class="mute" style="text-align:center">{escape(t("card.show", lang))}</p>'
        f'<div class="qr">{qr_svg(view.card_code, label=view.card_code)}</div>'
        f'<p class="code" id="card-code">{escape(view.card_code)}</p>'
        f'<p style="text-align:center">{escape(t("card.number", lang))}: '
        f'<strong class="code" id="card-number">{escape(view.number)}</strong></p></section>'
        '<section class="card" id="progress">'
        + stamp_row(
            view.balance,
            view.goal,
            filled_label=t("stamp.filled", lang),
            empty_label=t("stamp.empty", lang),
        )
        + f'<p class="big" id="balance">'
        f"{escape(t('card.balance', lang, balance=view.balance, goal=view.goal))}</p></section>"
        f'<section class="card" id="vouchers"><h2>{escape(heading)}</h2>'
        + (
            scroll_table(heading, head, rows, caption=False) + more
            if rows
            else f'<p class="mute">{escape(t("card.no_vouchers", lang))}</p>'
        )
        + "</section>"
        + wallet_buttons(view.apple_wallet_url, view.google_wallet_url, lang)
        + extra
    )
    return page(t("card.title", lang), body, lang=lang, langs=True)
