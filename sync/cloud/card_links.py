"""A card's private page link: ``/card/{card_code}/{sig}``, ``sig`` an HMAC of the code under
the business's link key (kept by the store, never shown), so a card number seen at the till
is not enough to open someone's card and vouchers."""

import hashlib
import hmac

from aiohttp import web

from sync.cloud.http import SETTINGS, STORE
from sync.contract.card_code import canonical_card_text


def link_signature(key: bytes, card_code: str) -> str:
    """The link signature of a card under its business's link key."""
    return hmac.new(key, canonical_card_text(card_code).encode(), hashlib.sha256).hexdigest()[:24]


async def signature(request: web.Request, card_code: str) -> str:
    """The link signature of a card (``NotFound`` if there is no such card)."""
    return link_signature(await request.app[STORE].card_link_key(card_code), card_code)


async def card_link(request: web.Request, card_code: str) -> str:
    """The private link of a card, absolute on the cloud's public URL."""
    base = request.app[SETTINGS].cloud.public_url.rstrip("/")
    return f"{base}/card/{card_code}/{await signature(request, card_code)}"
