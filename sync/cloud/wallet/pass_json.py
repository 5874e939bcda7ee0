"""``pass.json`` of a card's Apple Wallet pass (a ``storeCard``), built from plain values.

Pure: no clock, no files. The barcode is a QR of the card code (its alternative text the
six-digit number), the same thing the card page shows, so the till's scanners read the pass as
they read the page.
"""

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from sync.cloud.models import CardOut


class PassIdentity(BaseModel):
    """Who issues the pass (``[wallet.apple]``) and where devices reach the web service."""

    pass_type_id: str
    team_id: str
    organization_name: str
    web_service_url: str  # {public_url}/wallet/apple
    background_color: str
    foreground_color: str
    label_color: str


class ReadyReward(BaseModel):
    """A reward that can be used now, shown with its redeem code."""

    name: str
    code: str
    kind: str


class PassContent(BaseModel):
    """What the pass says about the card: everything that, changed, needs a push."""

    serial: str
    card_code: str
    number: str
    business: str
    balance: int
    goal: int
    reward_name: str
    ready: list[ReadyReward] = []
    card_url: str = ""

    def digest(self) -> str:
        """A short hash of the content: equal digests, nothing to push."""
        raw = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:32]


def content_of(
    card: CardOut, serial: str, business: str, reward_name: str, card_url: str
) -> PassContent:
    """A pass's content from the card as the store answers it."""
    return PassContent(
        serial=serial,
        card_code=card.card_code,
        number=card.number,
        business=business,
        balance=card.balance,
        goal=card.goal,
        reward_name=reward_name,
        ready=[
            ReadyReward(name=r.name, code=r.code, kind=r.kind)
            for r in card.rewards
            if r.state == "active"
        ],
        card_url=card_url,
    )


def _field(key: str, label: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value, **extra}


def build_pass_json(
    content: PassContent, identity: PassIdentity, auth_token: str
) -> dict[str, Any]:
    """The ``pass.json`` document of a ``storeCard`` pass."""
    to_go = max(0, content.goal - content.balance)
    next_text = (
        f"{content.reward_name}: {to_go} stamp{'s' if to_go != 1 else ''} to go"
        if to_go
        else f"{content.reward_name}: on the next visit"
    )
    ready = len(content.ready)
    back = [
        _field("number", "Card number", content.number),
        *(
            _field(f"reward-{i}", r.name, f"Code {r.code} (show it at the till)")
            for i, r in enumerate(content.ready)
        ),
    ]
    if content.card_url:
        back.append(
            _field(
                "card",
                "Your card online",
                content.card_url,
                attributedValue=f"<a href='{content.card_url}'>Open the card page</a>",
            )
        )
    return {
        "formatVersion": 1,
        "passTypeIdentifier": identity.pass_type_id,
        "teamIdentifier": identity.team_id,
        "organizationName": identity.organization_name,
        "serialNumber": content.serial,
        "description": f"{content.business} stamp card",
        "logoText": content.business,
        "backgroundColor": identity.background_color,
        "foregroundColor": identity.foreground_color,
        "labelColor": identity.label_color,
        "webServiceURL": identity.web_service_url,
        "authenticationToken": auth_token,
        "sharingProhibited": True,
        "barcodes": [
            {
                "format": "PKBarcodeFormatQR",
                "message": content.card_code,
                "messageEncoding": "iso-8859-1",
                "altText": content.number,
            }
        ],
        "storeCard": {
            "headerFields": [
                _field(
                    "stamps",
                    "STAMPS",
                    f"{content.balance} of {content.goal}",
                    changeMessage="Your card: %@ stamps",
                )
            ],
            "secondaryFields": [_field("next", "NEXT REWARD", next_text)],
            "auxiliaryFields": [
                _field(
                    "ready",
                    "READY TO USE",
                    f"{ready} reward{'s' if ready != 1 else ''}" if ready else "none yet",
                    changeMessage="Ready to use: %@",
                )
            ],
            "backFields": back,
        },
    }


# The documented top-level keys this builder may write, with their JSON types (Apple's
# "Pass" dictionary reference); tests check every built pass against it.
PASS_KEYS: dict[str, type] = {
    "formatVersion": int,
    "passTypeIdentifier": str,
    "teamIdentifier": str,
    "organizationName": str,
    "serialNumber": str,
    "description": str,
    "logoText": str,
    "backgroundColor": str,
    "foregroundColor": str,
    "labelColor": str,
    "webServiceURL": str,
    "authenticationToken": str,
    "sharingProhibited": bool,
    "barcodes": list,
    "storeCard": dict,
}
REQUIRED_KEYS = (
    "formatVersion",
    "passTypeIdentifier",
    "teamIdentifier",
    "organizationName",
    "serialNumber",
    "description",
)
