"""The pages' wallet buttons: where "Add to Apple Wallet" and "Save to Google Wallet" lead.
Light on purpose (no wallet library), since every card and claim page asks."""

from aiohttp import web

from sync.cloud.card_links import card_link
from sync.cloud.wallet.keys import WALLET


async def wallet_links(request: web.Request, card_code: str) -> tuple[str | None, str | None]:
    """The card's "Add to Apple Wallet" and "Save to Google Wallet" addresses, each only when
    that wallet is configured."""
    wallet = request.app.get(WALLET)
    if wallet is None:
        return None, None
    base = await card_link(request, card_code)
    apple = f"{base}/pass.pkpass" if wallet.settings.apple is not None else None
    google = f"{base}/google" if wallet.settings.google is not None else None
    return apple, google
