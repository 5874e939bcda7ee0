"""The page a phone opens from a receipt QR: the stamps just added, the card's progress, the
reward when reached; or, in plain words, why the receipt cannot be claimed."""

from datetime import date
from html import escape
from typing import Literal

from pydantic import BaseModel

from sync.cloud.ui.card_page import wallet_buttons
from sync.cloud.ui.layout import page, shop_banner
from sync.cloud.ui.svg import qr_svg, stamp_row
from sync.cloud.ui.texts import plural, t
from sync.web.locale_format import day

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
# The title and the sentence saying each problem (keys written out: the catalogue test finds them).
PROBLEM_TEXTS: dict[str, tuple[str, str]] = {
    "already_claimed": ("error.already_claimed.title", "error.already_claimed.body"),
    "expired": ("error.expired.title", "error.expired.body"),
    "invalid": ("error.invalid.title", "error.invalid.body"),
    "voided": ("error.voided.title", "error.voided.body"),
    "not_found": ("error.not_found.title", "error.not_found.body"),
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


def cycles_completed(stamps_added: int, balance: int, goal: int) -> int:
    """How many cards a claim of ``stamps_added`` filled, given the balance it left in the
    current cycle (the balance before was in ``[0, goal)``, the extra carried over)."""
    if goal <= 0 or stamps_added <= balance:
        return 0
    return -(-(stamps_added - balance) // goal)  # ceiling division


def _stamps(filled: int, goal: int, new: int, lang: str) -> str:
    return stamp_row(
        filled,
        goal,
        new=new,
        filled_label=t("stamp.filled", lang),
        empty_label=t("stamp.empty", lang),
    )


def _code_block(code: str, label: str, ident: str) -> str:
    """A redeem code as a QR a till's scanner reads and as text a cashier can type."""
    return (
        f'<div class="qr">{qr_svg(code, size_px=180, label=label)}</div>'
        f'<p class="mute" style="text-align:center">{escape(label)}</p>'
        f'<p class="code" id="{ident}">{escape(code)}</p>'
    )


def _reward(r: RewardView, lang: str) -> str:
    if r.kind == "lottery" and r.lottery_outcome in ("extra_try", "nothing"):
        key = "reward.lottery.try" if r.lottery_outcome == "extra_try" else "reward.lottery.none"
        return f'<section class="card" id="reward"><p>{escape(t(key, lang))}</p></section>'
    head = (
        t("reward.lottery.won", lang, name=r.name)
        if r.kind == "lottery"
        else t("reward.reached", lang)
    )
    parts = [
        f'<section class="card" id="reward" data-kind="{r.kind}"><p class="lead">{escape(head)}</p>'
    ]
    if r.kind == "gift":
        parts.append(f'<p class="gift">{escape(t("reward.gift", lang, name=r.name))}</p>')
        if r.code:
            parts.append(
                f'<p class="mute">{escape(t("reward.gift.code", lang))}</p>'
                + _code_block(r.code, t("reward.voucher.code", lang), "gift-code")
            )
    elif r.code:
        parts.append(
            f"<p>{escape(t('reward.voucher', lang, name=r.name))}</p>"
            + _code_block(r.code, t("reward.voucher.code", lang), "voucher-code")
        )
        if r.valid_until:
            parts.append(
                f'<p class="mute">'
                f"{escape(t('reward.voucher.valid', lang, date=day(r.valid_until, lang)))}</p>"
            )
    parts.append("</section>")
    return "".join(parts)


def _completed(view: ClaimView, cycles: int, lang: str) -> str:
    """The card this claim filled, drawn full (its stamps from this receipt highlighted)."""
    before = view.balance - view.stamps_added + cycles * view.goal
    fresh = view.goal - before if cycles == 1 else view.goal
    return (
        '<section class="card" id="completed">'
        f"<h2>{escape(t('claim.complete.title', lang, goal=view.goal))}</h2>"
        + _stamps(view.goal, view.goal, fresh, lang)
        + (
            f'<p id="cards-filled">{escape(t("claim.complete.many", lang, n=cycles))}</p>'
            if cycles > 1
            else ""
        )
        + "</section>"
    )


def render_claim_done(view: ClaimView, lang: str = "en", extra: str = "") -> str:
    """The stamps are on the card: a card this receipt filled is shown full, then the new card
    with the stamps carried over (never "6 stamps added" beside an empty card); ``extra``: more
    sections, already escaped."""
    to_go = max(0, view.goal - view.balance)
    cycles = cycles_completed(view.stamps_added, view.balance, view.goal)
    fresh = view.balance if cycles else min(view.stamps_added, view.balance)
    rewards = "".join(_reward(r, lang) for r in view.rewards[:REWARDS_SHOWN])
    more = view.more_rewards + max(0, len(view.rewards) - REWARDS_SHOWN)
    current = (
        '<section class="card" id="progress">'
        + (f"<h2>{escape(t('claim.new_card', lang))}</h2>" if cycles else "")
        + _stamps(view.balance, view.goal, fresh, lang)
        + f'<p class="big" id="balance">'
        f"{escape(t('claim.progress', lang, balance=view.balance, goal=view.goal))}</p>"
        + (
            f'<p id="carried">{escape(plural("claim.carried", view.balance, lang))}</p>'
            if cycles and view.balance
            else ""
        )
        + (f"<p>{escape(plural('claim.to_go', to_go, lang))}</p>" if to_go else "")
        + "</section>"
    )
    body = (
        f'<h1 id="shop">{escape(view.business or t("brand", lang))}</h1>'
        f'<p class="lead" id="added">{escape(plural("claim.added", view.stamps_added, lang))}</p>'
        + (_completed(view, cycles, lang) + rewards + current if cycles else current + rewards)
        + (f'<p id="more-rewards">{escape(plural("rewards.more", more, lang))}</p>' if more else "")
        + wallet_buttons(view.apple_wallet_url, view.google_wallet_url, lang)
        + f'<p class="mute">{escape(t("claim.keep", lang))}</p>'
        f'<p><a class="btn" href="{escape(view.card_url)}">{escape(t("claim.open_card", lang))}'
        "</a></p>" + extra
    )
    return page(t("claim.title", lang), body, lang=lang, langs=True)


def render_claim_offer(
    stamps: int, action: str, lang: str = "en", business: str = "", extra: str = ""
) -> str:
    """The receipt is genuine and unclaimed: one button claims it (a GET never does, so link
    previewers cannot spend the customer's QR); ``extra``: more sections, already escaped."""
    body = (
        shop_banner(business, lang) + '<section class="card" id="offer">'
        f"<h1>{escape(plural('claim.offer', stamps, lang))}</h1>"
        f'<form method="post" action="{escape(action)}">'
        f'<button class="btn" type="submit" id="claim">{escape(t("claim.button", lang))}</button>'
        "</form></section>" + extra
    )
    return page(t("claim.offer.title", lang), body, lang=lang, langs=True)


def render_claim_problem(
    problem: ClaimProblem, lang: str = "en", card_url: str = "", business: str = ""
) -> str:
    """Why this receipt cannot be claimed, in plain words (under the shop's name when the
    receipt is genuine)."""
    link = (
        f'<p><a class="btn" href="{escape(card_url)}">{escape(t("claim.open_card", lang))}</a></p>'
        if card_url
        else ""
    )
    body = (
        shop_banner(business, lang)
        + f'<section class="card" id="problem" data-problem="{problem}">'
        f"<h1>{escape(t(PROBLEM_TEXTS[problem][0], lang))}</h1>"
        f"<p>{escape(t(PROBLEM_TEXTS[problem][1], lang))}</p></section>{link}"
    )
    return page(t(PROBLEM_TEXTS[problem][0], lang), body, lang=lang, langs=True)
