"""Device and admin keys: made once, shown once, stored as SHA-256 hashes."""

import hashlib
import hmac
import secrets
from typing import Literal

KeyKind = Literal["sk", "ak"]


def new_device_key(device_id: int) -> str:
    """``sk_<device_id>_<random>``: the agent reads its device id from it."""
    return f"sk_{device_id}_{secrets.token_urlsafe(24)}"


def new_admin_key(business_id: int) -> str:
    """``ak_<business_id>_<random>``: acts for the whole business."""
    return f"ak_{business_id}_{secrets.token_urlsafe(24)}"


def new_device_secret() -> str:
    """The symmetric key a device signs receipt-QR tokens with."""
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What the store keeps of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two key hashes."""
    return hmac.compare_digest(a.encode(), b.encode())


def parse_key(key: str) -> tuple[KeyKind, int] | None:
    """``("sk", device_id)`` or ``("ak", business_id)``; ``None`` if the text is no key of ours."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] not in ("sk", "ak") or not parts[2]:
        return None
    if not parts[1].isdigit() or len(parts[1]) > 18:
        return None
    kind: KeyKind = "sk" if parts[0] == "sk" else "ak"
    return kind, int(parts[1])
