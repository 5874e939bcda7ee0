"""The page a phone opens from a receipt QR: the stamps just added, the card's progress, the
reward when reached; or, in plain words, why the receipt cannot be claimed."""

from datetime import date
from html import escape
from typing import Literal

from pydantic import BaseModel

from sync.cloud.ui.card_page import wallet_buttons
from sync.cloud.ui.layout import page
from sync.cloud.ui.svg import qr_svg, stamp_row
from sync.cloud.ui.texts import plural, t

# A claim page draws at most this many rewards (each voucher is a QR drawing): one receipt
# reaching thousands of rewards must not build megabytes of HTML.
REWARDS_SHOWN = 3

ClaimProblem = Literal["already_claimed", "expired", "invalid", "voided", "not_found"]
PROBLEM_STATUS: dict[str, int] = {
    "already_claimed": 409,
    "expired": 410,
    "invalid": 404,
    "voided": 410,
    "not_found": 404,
}


class RewardView(BaseModel):
    """A reward the claim reached."""

    kind: Literal["gift", "voucher", "lottery"]
    name: str
    code: str | None = None  # a voucher's redeem code
    valid_until: date | None = None
    lottery_outcome: Literal["gift", "voucher", "extra_try", "nothing"] | None = None


class ClaimView(BaseModel):
    """What a successful claim shows."""

    stamps_added: int
    balance: int  # stamps in the current cycle, after any reward
    goal: int
    rewards: list[RewardView] = []  # the first ``REWARDS_SHOWN`` at most
    more_rewards: int = 0  # reached too, not drawn (they are on the card)
    card_url: str
    business: str = ""
    apple_wallet_url: str | None = None  # only when [wallet.apple] is configured
    google_wallet_url: str | None = None  # only when [wallet.google] is configured


def _reward(r: RewardView, lang: str) -> str:
    if r.kind == "lottery" and r.lottery_outcome in ("extra_try", "nothing"):
        key = "reward.lottery.try" if r.lottery_outcome == "extra_try" else "reward.lottery.none"
        return f'<section class="card" id="reward"><p>{escape(t(key, lang))}</p></section>'
    head = (
        t("reward.lottery.won", lang, name=r.name)
        if r.kind == "lottery"
        else t("reward.reached", lang)
    )
    parts = [f'<section class="card" id="reward"><p class="lead">{escape(head)}</p>']
    if r.code:
        parts.append(
            f"<p>{escape(t('reward.voucher', lang, name=r.name))}</p>"
            f'<div class="qr">{qr_svg(r.code, size_px=180, label=t("reward.voucher.code", lang))}'
            f'</div><p class="mute" style="text-align:center">'
            f"{escape(t('reward.voucher.code', lang))}</p>"
            f'<p class="code" id="voucher-code">{escape(r.code)}</p>'
        )
        if r.valid_until:
            parts.append(
                f'<p class="mute">'
                f"{escape(t('reward.voucher.valid', lang, date=r.valid_until.isoformat()))}</p>"
            )
    else:
        parts.append(f"<p>{escape(t('reward.gift', lang, name=r.name))}</p>")
    parts.append("</section>")
    return "".join(parts)


def render_claim_done(view: ClaimView, lang: str = "en") -> str:
    """The stamps are on the card."""
    to_go = max(0, view.goal - view.balance)
    fresh = min(view.stamps_added, view.balance)
    body = (
        f"<h1>{escape(view.business or t('brand', lang))}</h1>"
        '<section class="card" id="progress">'
        f'<p class="lead" id="added">'
        f"{escape(plural('claim.added', view.stamps_added, lang))}</p>"
        + stamp_row(
            view.balance,
            view.goal,
            new=fresh,
            filled_label=t("stamp.filled", lang),
            empty_label=t("stamp.empty", lang),
        )
        + f'<p class="big" id="balance">'
        f"{escape(t('claim.progress', lang, balance=view.balance, goal=view.goal))}</p>"
        + (f"<p>{escape(plural('claim.to_go', to_go, lang))}</p>" if to_go else "")
        + "</section>"
        + "".join(_reward(r, lang) for r in view.rewards[:REWARDS_SHOWN])
        + (
            f'<p id="more-rewards">{escape(plural("rewards.more", more, lang))}</p>'
            if (more := view.more_rewards + max(0, len(view.rewards) - REWARDS_SHOWN))
            else ""
        )
        + wallet_buttons(view.apple_wallet_url, view.google_wallet_url, lang)
        + f'<p class="mute">{escape(t("claim.keep", lang))}</p>'
        f'<p><a class="btn" href="{escape(view.card_url)}">{escape(t("claim.open_card", lang))}'
        "</a></p>"
    )
    return page(t("claim.title", lang), body, lang=lang)


def render_claim_offer(stamps: int, action: str, lang: str = "en") -> str:
    """The receipt is genuine and unclaimed: one button claims it (a GET never does, so link
    previewers cannot spend the customer's QR)."""
    body = (
        '<section class="card" id="offer">'
        f"<h1>{escape(plural('claim.offer', stamps, lang))}</h1>"
        f'<form method="post" action="{escape(action)}">'
        f'<button class="btn" type="submit" id="claim">{escape(t("claim.button", lang))}</button>'
        "</form></section>"
    )
    return page(t("claim.offer.title", lang), body, lang=lang)


def render_claim_problem(problem: ClaimProblem, lang: str = "en", card_url: str = "") -> str:
    """Why this receipt cannot be claimed, in plain words."""
    link = (
        f'<p><a class="btn" href="{escape(card_url)}">{escape(t("claim.open_card", lang))}</a></p>'
        if card_url
        else ""
    )
    body = (
        f'<section class="card" id="problem" data-problem="{problem}">'
        f"<h1>{escape(t(f'error.{problem}.title', lang))}</h1>"
        f"<p>{escape(t(f'error.{problem}.body', lang))}</p></section>{link}"
    )
    return page(t(f"error.{problem}.title", lang), body, lang=lang)
