"""The dashboard's signed, expiring session (pure: no clock read, no storage).

The cookie once held the raw admin key. It now holds ``<business>.<expires>.<nonce>.<mac>``,
the MAC keyed by the business's current admin-key hash: rotating the admin key ends every
session at once, a session ends by itself after ``SESSION_S``, and the cookie is worth nothing
against the API. Forms of a signed-in page carry a CSRF token derived from the session.

Sign-out ends a session on the server too (a copied cookie stops working): the store keeps
its nonce as ended until it would have expired, and "sign out everywhere" ends every session
of the business issued up to that second (``store/sessions.py``; ``ended``, below).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

SESSION_S = 8 * 3600  # a working day
_DOMAIN = b"stampedge-dashboard-session|"


def _mac(key_hash: str, text: str) -> str:
    key = hashlib.sha256(_DOMAIN + key_hash.encode()).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def mint(business_id: int, key_hash: str, now_s: int, nonce: str | None = None) -> str:
    """A session for ``business_id`` under its current admin-key hash, until now + SESSION_S."""
    body = f"{business_id}.{now_s + SESSION_S}.{nonce or secrets.token_urlsafe(12)}"
    return f"{body}.{_mac(key_hash, body)}"


@dataclass(frozen=True, slots=True)
class Session:
    """What a session cookie names (read before it is checked, to look its business up)."""

    business_id: int
    expires_s: int
    nonce: str

    @property
    def issued_s(self) -> int:
        """When it was minted (Unix seconds)."""
        return self.expires_s - SESSION_S


def parse(value: str) -> Session | None:
    """The business, expiry and nonce a cookie names, unchecked; ``None`` if it is no session."""
    parts = value.rpartition(".")[0].split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts[:2]):
        return None
    return Session(int(parts[0]), int(parts[1]), parts[2])


def ended(session: Session, *, signed_out: bool, sessions_after_s: int) -> bool:
    """True if the session was signed out, or issued at or before its business's last "sign
    out everywhere" (``sessions_after_s``; 0: never)."""
    return signed_out or session.issued_s <= sessions_after_s


def mint_after(business_id: int, key_hash: str, now_s: int, sessions_after_s: int) -> str:
    """``mint``, issued no earlier than the second after the business's last "sign out
    everywhere" (a sign-in in that same second would otherwise be ended at once)."""
    return mint(business_id, key_hash, max(now_s, sessions_after_s + 1))


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
