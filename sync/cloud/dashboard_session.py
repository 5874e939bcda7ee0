"""The dashboard's signed, expiring session (pure: no clock read, no storage).

The cookie once held the raw admin key. It now holds ``<business>.<expires>.<nonce>.<mac>``,
the MAC keyed by the business's current admin-key hash: rotating the admin key ends every
session at once, a session ends by itself after ``SESSION_S``, and the cookie is worth nothing
against the API. Forms of a signed-in page carry a CSRF token derived from the session.
"""

import hashlib
import hmac
import secrets

SESSION_S = 8 * 3600  # a working day
_DOMAIN = b"stampedge-dashboard-session|"


def _mac(key_hash: str, text: str) -> str:
    key = hashlib.sha256(_DOMAIN + key_hash.encode()).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def mint(business_id: int, key_hash: str, now_s: int, nonce: str | None = None) -> str:
    """A session for ``business_id`` under its current admin-key hash, until now + SESSION_S."""
    body = f"{business_id}.{now_s + SESSION_S}.{nonce or secrets.token_urlsafe(12)}"
    return f"{body}.{_mac(key_hash, body)}"


def business_of(value: str) -> int | None:
    """The business a session names, before it is checked (to look its key hash up)."""
    head = value.partition(".")[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) <= 18 else None


def verify(value: str, key_hash: str, now_s: int) -> bool:
    """True if ``value`` is a session minted under ``key_hash`` and not yet expired."""
    body, _, mac = value.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit():
        return False
    if not hmac.compare_digest(mac.encode(), _mac(key_hash, body).encode()):
        return False
    return now_s < int(parts[1])


def csrf_token(value: str, key_hash: str) -> str:
    """The token a signed-in page's forms carry (tied to this session)."""
    return _mac(key_hash, "csrf|" + value)
