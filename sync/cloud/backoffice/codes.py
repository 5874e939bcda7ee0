"""Short single-use codes for vouchers and delivery inserts (pure).

A code is ten Crockford base32 characters (50 random bits): upper case digits and letters
without I, L, O and U, so a customer can type it from paper and a claim URL holding it stays in
QR alphanumeric mode. It is shown as ``XXXXX-XXXXX``; typed input is forgiving (case, dashes,
spaces, O for 0, I and L for 1).
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    """A fresh random code (canonical form, no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def canonical(text: str) -> str | None:
    """The canonical code a person typed or a QR held, or ``None`` if it cannot be one."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "").translate(_TYPED)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def display(code: str) -> str:
    """The code as printed: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def claim_url(public_url: str, code: str) -> str:
    """The address a code's QR opens (``/I/`` upper case: the whole URL stays alphanumeric)."""
    return f"{public_url.rstrip('/')}/I/{code}"
