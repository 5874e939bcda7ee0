"""Google Wallet: a loyalty class per business, a loyalty object per card, and the "Save to
Google Wallet" link, a JWT signed RS256 by the service account (``typ: savetowallet``, the
class and object inline, ``origins`` the cloud's public URL). Pure apart from the signature."""

from typing import Any

import jwt

from config.cloud import GoogleWalletSection
from sync.cloud.wallet.credentials import GoogleCredentials
from sync.cloud.wallet.pass_json import PassContent

SAVE_BASE = "https://pay.google.com/gp/v/save/"


def class_id(section: GoogleWalletSection, business_id: int) -> str:
    """The loyalty class of a business: ``<issuer>.stampedge-<business>``."""
    return f"{section.issuer_id}.stampedge-{business_id}"


def object_id(section: GoogleWalletSection, serial: str) -> str:
    """The loyalty object of a card: ``<issuer>.<card code>``."""
    return f"{section.issuer_id}.{serial}"


def loyalty_class(
    section: GoogleWalletSection, business_id: int, business: str, public_url: str
) -> dict[str, Any]:
    """The business's loyalty class."""
    return {
        "id": class_id(section, business_id),
        "issuerName": business,
        "programName": f"{business} stamp card",
        "programLogo": {"sourceUri": {"uri": f"{public_url}/wallet/logo.png"}},
        "hexBackgroundColor": section.background_color,
        "reviewStatus": "UNDER_REVIEW",
    }


def object_fields(content: PassContent) -> dict[str, Any]:
    """What changes on a card's object: the balance, the next reward, ready rewards (the body
    of a PATCH)."""
    to_go = max(0, content.goal - content.balance)
    modules = [
        {
            "id": "next",
            "header": "Next reward",
            "body": f"{content.reward_name}: {to_go} to go" if to_go else content.reward_name,
        },
        *(
            {"id": f"reward-{i}", "header": r.name, "body": f"Code {r.code}"}
            for i, r in enumerate(content.ready)
        ),
    ]
    return {
        "loyaltyPoints": {
            "label": "Stamps",
            "balance": {"string": f"{content.balance} of {content.goal}"},
        },
        "secondaryLoyaltyPoints": {
            "label": "Ready rewards",
            "balance": {"int": len(content.ready)},
        },
        "textModulesData": modules,
    }


def loyalty_object(
    section: GoogleWalletSection, business_id: int, content: PassContent
) -> dict[str, Any]:
    """The card's loyalty object."""
    return {
        "id": object_id(section, content.serial),
        "classId": class_id(section, business_id),
        "state": "ACTIVE",
        "accountId": content.number,
        "accountName": content.number,
        "barcode": {
            "type": "QR_CODE",
            "value": content.card_code,
            "alternateText": content.number,
        },
        "linksModuleData": {
            "uris": [{"uri": content.card_url, "description": "Your card online", "id": "card"}]
        }
        if content.card_url
        else None,
        **object_fields(content),
    }


def save_jwt(
    creds: GoogleCredentials,
    section: GoogleWalletSection,
    business_id: int,
    content: PassContent,
    public_url: str,
    iat: int,
) -> str:
    """The signed save JWT of a card's object (with its class)."""
    obj = {k: v for k, v in loyalty_object(section, business_id, content).items() if v is not None}
    claims = {
        "iss": creds.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": iat,
        "origins": [public_url],
        "payload": {
            "loyaltyClasses": [loyalty_class(section, business_id, content.business, public_url)],
            "loyaltyObjects": [obj],
        },
    }
    headers = {"kid": creds.key_id} if creds.key_id else None
    return jwt.encode(claims, creds.key, algorithm="RS256", headers=headers)


def save_url(
    creds: GoogleCredentials,
    section: GoogleWalletSection,
    business_id: int,
    content: PassContent,
    public_url: str,
    iat: int,
) -> str:
    """``https://pay.google.com/gp/v/save/<JWT>``."""
    return SAVE_BASE + save_jwt(creds, section, business_id, content, public_url, iat)
