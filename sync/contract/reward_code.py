"""Reward redeem codes (pure): the alphabet read aloud at a till, and the one stored form."""

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a till
CODE_LEN = 12


def normalize_reward_code(text: str) -> str:
    """The stored form of a typed or scanned code: upper-case, grouped by four (``7KQ2-MX9D-H4TP``);
    ``ValueError`` if it is not one."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(raw) != CODE_LEN or any(ch not in CODE_ALPHABET for ch in raw):
        raise ValueError("not a reward code")
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def is_reward_code(text: str) -> bool:
    """True if ``text`` reads as a reward code."""
    try:
        normalize_reward_code(text)
    except ValueError:
        return False
    return True
