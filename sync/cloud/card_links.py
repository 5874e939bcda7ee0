"""A card's private page link: ``/card/{card_code}/{sig}``, ``sig`` an HMAC of the code under
the business's link key (kept by the store, never shown), so a card number seen at the till
is not enough to open someone's card and vouchers. A card merged into another (``merge.py``)
has no page of its own any more: its link and cookie are no proof of anything.

The phone keeps its card as ``<code>.<sig>`` in a cookie: a cookie naming a code without its
signature (set by hand, or by an older release) is no card at all.
"""

import hashlib
import hmac

from aiohttp import web

from sync.cloud.errors import NotFound
from sync.cloud.http import SETTINGS, STORE
from sync.cloud.store.identity import Identity
from sync.contract.card_code import canonical_card_text
from sync.web.throttle import GUESSES, check

CARD_COOKIE = "stampedge_card"
_MAX = 64


def link_signature(key: bytes, card_code: str) -> str:
    """The link signature of a card under its business's link key."""
    return hmac.new(key, canonical_card_text(card_code).encode(), hashlib.sha256).hexdigest()[:24]


async def signature(request: web.Request, card_code: str) -> str:
    """The link signature of a card (``NotFound`` if there is no such card)."""
    return link_signature(await request.app[STORE].card_link_key(card_code), card_code)


async def verified(request: web.Request, card_code: str, sig: str) -> bool:
    """True if ``sig`` is the card's link signature (False for no such card, alike)."""
    if not sig:
        return False
    guesses = request.app[GUESSES].links
    client = check(request, guesses)  # 429 past too many wrong signatures
    ok = False
    if card_code and len(card_code) <= _MAX and len(sig) <= _MAX:
        try:
            expected = await signature(request, canonical_card_text(card_code))
        except NotFound:
            expected = "0" * 24  # compared all the same: no shortcut tells "no such card"
        ok = hmac.compare_digest(sig.lower().encode(), expected.encode()) and expected != "0" * 24
    if not ok:
        guesses.fail(client)
        return False
    # A card merged into another still stamps at the till by its code, but its link and cookie
    # no longer open anything: whoever held the merged card must not reach the card it went
    # into (a customer merge follows a link opened by the address's owner, maybe elsewhere).
    return not await Identity(request.app[STORE].db).is_alias(card_code)


async def card_link(request: web.Request, card_code: str) -> str:
    """The private link of a card, absolute on the cloud's public URL."""
    base = request.app[SETTINGS].cloud.public_url.rstrip("/")
    return f"{base}/card/{card_code}/{await signature(request, card_code)}"


async def cookie_value(request: web.Request, card_code: str) -> str:
    """What the phone keeps: the code and its signature."""
    return f"{card_code}.{await signature(request, card_code)}"


async def card_from_cookie(request: web.Request) -> str | None:
    """The card code this phone proves it holds (a signed cookie), else ``None``."""
    code, _, sig = request.cookies.get(CARD_COOKIE, "").partition(".")
    return canonical_card_text(code) if await verified(request, code, sig) else None


def keep_card(request: web.Request, resp: web.StreamResponse, value: str) -> None:
    """Set the phone's card cookie (two years, HTTP only, same site; Secure behind https)."""
    secure = request.app[SETTINGS].cloud.public_url.startswith("https://")
    resp.set_cookie(
        CARD_COOKIE, value, max_age=2 * 365 * 86400, httponly=True, samesite="Lax", secure=secure
    )


def forget_card(request: web.Request, resp: web.StreamResponse) -> None:
    """Make the phone forget its card cookie (after the card was erased)."""
    secure = request.app[SETTINGS].cloud.public_url.startswith("https://")
    resp.del_cookie(CARD_COOKIE, path="/", httponly=True, samesite="Lax", secure=secure)
