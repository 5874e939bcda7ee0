"""A card's pass, from the store to bytes: its content, its serial and authentication token,
the ``.pkpass`` and the Google Wallet object. Shared by the routes and the push worker.

The serial number is the card code (already what the pass's barcode says). Each pass's
``authenticationToken`` is an HMAC, under the business's link key, of the serial and a random
nonce kept with the pass; the table keeps the nonce and the token's SHA-256, and a device's token
is checked against that hash.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from config.cloud import WalletSection
from sync.cloud.card_links import link_signature
from sync.cloud.models import CardOut
from sync.cloud.store import Store
from sync.cloud.wallet import google_objects, passes_db
from sync.cloud.wallet.credentials import AppleCredentials, GoogleCredentials
from sync.cloud.wallet.images import pass_images
from sync.cloud.wallet.pass_json import PassContent, PassIdentity, build_pass_json, content_of
from sync.cloud.wallet.passes_db import PassRow
from sync.cloud.wallet.pkpass import build_pkpass

if TYPE_CHECKING:
    from sync.cloud.wallet.pusher import Pusher


@dataclass
class Wallet:
    """The wallet's configuration and credentials, as the app holds them."""

    settings: WalletSection
    public_url: str
    apple: AppleCredentials | None
    google: GoogleCredentials | None
    pusher: "Pusher | None" = None  # set while the app runs

    @property
    def identity(self) -> PassIdentity:
        """Who issues Apple passes (only with ``[wallet.apple]``)."""
        a = self.settings.apple
        assert a is not None
        return PassIdentity(
            pass_type_id=a.pass_type_id,
            team_id=a.team_id,
            organization_name=a.organization_name,
            web_service_url=f"{self.public_url}/wallet/apple",
            background_color=a.background_color,
            foreground_color=a.foreground_color,
            label_color=a.label_color,
        )


def auth_token(link_key: bytes, serial: str, nonce: str) -> str:
    """A pass's ``authenticationToken``."""
    return hmac.new(link_key, f"applepass:{serial}:{nonce}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """What the table keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_ok(row: PassRow, presented: str) -> bool:
    """The device presented this pass's token."""
    return hmac.compare_digest(token_hash(presented), row.token_hash)


def now_us() -> int:
    """Wall-clock microseconds: pass tags and queue times (not the business clock)."""
    return time.time_ns() // 1000


@dataclass(frozen=True)
class CardPass:
    """A card's current pass: as stored, what it says now, and its business's link key."""

    row: PassRow
    content: PassContent
    card: CardOut
    link_key: bytes

    @property
    def token(self) -> str:
        """The pass's ``authenticationToken``."""
        return auth_token(self.link_key, self.row.serial, self.row.nonce)


async def current_content(
    store: Store, wallet: Wallet, code: str, now: datetime
) -> tuple[CardOut, PassContent, bytes]:
    """The card (``NotFound`` if none), what its pass says now, and its business's link key."""
    card = await store.card(code, now, None)
    business = await store.business_name(card.business_id)
    branches = await store.branches(card.business_id)
    reward = branches[0].program.reward_name if branches else "Reward"
    key = await store.card_link_key(card.card_code)
    url = f"{wallet.public_url}/card/{card.card_code}/{link_signature(key, card.card_code)}"
    return card, content_of(card, card.card_code, business, reward, url), key


async def card_pass(
    store: Store, wallet: Wallet, code: str, now: datetime, *, google: bool = False
) -> CardPass:
    """The card's pass, issued (stored) on first use."""
    card, content, key = await current_content(store, wallet, code, now)
    nonce = secrets.token_hex(16)
    candidate = PassRow(
        serial=content.serial,
        business_id=card.business_id,
        customer_id=int(card.customer_id),
        nonce=nonce,
        token_hash=token_hash(auth_token(key, content.serial, nonce)),
        content_hash=content.digest(),
        updated_us=now_us(),
        google=google,
    )
    row = await passes_db.ensure_pass(store.db, candidate, now_us(), google=google)
    if row.content_hash != content.digest():
        # the card changed and the worker has not caught up yet: what is served now is new
        row = await refresh(store, row, content)
    return CardPass(row=row, content=content, card=card, link_key=key)


def next_updated_us(row: PassRow) -> int:
    """When a pass that changes now was updated: now, and in a later whole second than its last
    change (``If-Modified-Since`` has whole seconds)."""
    return max(now_us(), (row.updated_us // 1_000_000 + 1) * 1_000_000)


async def refresh(store: Store, row: PassRow, content: PassContent) -> PassRow:
    """Record that the pass now says ``content`` (with ``next_updated_us``)."""
    digest = content.digest()
    if digest == row.content_hash:
        return row
    updated = next_updated_us(row)
    await passes_db.set_content(store.db, row.business_id, row.serial, digest, updated)
    return PassRow(
        serial=row.serial, business_id=row.business_id, customer_id=row.customer_id,
        nonce=row.nonce, token_hash=row.token_hash, content_hash=digest, updated_us=updated,
        google=row.google,
    )  # fmt: skip


def pkpass(wallet: Wallet, cp: CardPass) -> bytes:
    """The signed ``.pkpass`` of the card's pass."""
    assert wallet.apple is not None and wallet.settings.apple is not None
    a = wallet.settings.apple
    doc = build_pass_json(cp.content, wallet.identity, cp.token)
    c = cp.content
    images = pass_images(c.balance, c.goal, a.background_color, a.foreground_color)
    return build_pkpass(doc, images, wallet.apple)


def google_save_url(wallet: Wallet, cp: CardPass, iat: int) -> str:
    """The "Save to Google Wallet" link of the card's pass."""
    assert wallet.google is not None and wallet.settings.google is not None
    return google_objects.save_url(
        wallet.google, wallet.settings.google, cp.row.business_id, cp.content,
        wallet.public_url, iat,
    )  # fmt: skip
