"""What a scanned line says (pure): a Wallet card code, a six-digit card number, a receipt QR,
a reward's redeem code, or nothing we know, with the reason.

Scanners add noise a person never sees: surrounding spaces, an AIM symbology prefix such as
``]Q1`` when the scanner is set to send it, lower case when a keyboard wedge met caps lock.
Those are forgiven; anything else that is not one of the three codes is rejected with a reason
a person can act on.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from drivers.framing import MAX_LINE, Overlong, RawLine
from sync.contract.card_code import CODE_LEN, PREFIX, is_card_code
from sync.contract.reward_code import is_reward_code, normalize_reward_code

NUMBER_LEN = 6
RECEIPT_TOKEN_LEN = 48
# An AIM symbology identifier: "]" + code character + modifier (e.g. ]Q1 for QR, ]C0 Code 128).
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_RECEIPT_URL = re.compile(
    r"^https?://[^/\s]+(?:/[^\s]*)?/c/(?P<token>[A-Z2-7]{" + str(RECEIPT_TOKEN_LEN) + r"})/?$",
    re.IGNORECASE,
)


class CodeKind(StrEnum):
    """The codes a scanner can bring to the agent."""

    CARD = "card"  # the Wallet card's barcode payload
    NUMBER = "number"  # the six-digit card number (typed on a kiosk, or a printed card)
    RECEIPT = "receipt"  # the QR printed on a receipt (a URL with a claim token)
    REWARD = "reward"  # a reward's redeem code (``7KQ2-MX9D-H4TP``), shown on the phone


class Rejection(StrEnum):
    """Why a line is not a code; the value is the stable reason recorded and counted."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_UTF8 = "not_utf8"
    CONTROL_CHARS = "control_chars"
    BAD_CHECK = "bad_check_character"
    UNKNOWN = "unknown_code"


REJECTION_TEXT: dict[Rejection, str] = {
    Rejection.EMPTY: "nothing was read",
    Rejection.TOO_LONG: f"the scan is longer than {MAX_LINE} bytes; not a Stampedge code",
    Rejection.NOT_UTF8: "the scan is not text (check the scanner's baud rate or interface)",
    Rejection.CONTROL_CHARS: "the scan holds control characters; not a Stampedge code",
    Rejection.BAD_CHECK: "this looks like a card code but one character is wrong; scan again",
    Rejection.UNKNOWN: "not a Stampedge card, card number or receipt code",
}


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """A recognised code: its kind and canonical value (card code, number or claim token)."""

    kind: CodeKind
    value: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that is not a code; ``text`` is a printable preview for the scan log."""

    reason: Rejection
    text: str

    @property
    def message(self) -> str:
        """The reason in words."""
        return REJECTION_TEXT[self.reason]


ReadResult = ScannedCode | Rejected


def preview(raw: bytes, limit: int = 64) -> str:
    """A printable, bounded rendering of raw bytes for logs and the scans table."""
    text = raw[:limit].decode("utf-8", errors="backslashreplace")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return text + ("…" if len(raw) > limit else "")


def read_line(line: RawLine) -> ReadResult:
    """Read one framed line from a scanner."""
    if isinstance(line, Overlong):
        return Rejected(Rejection.TOO_LONG, preview(line.head))
    if len(line) > MAX_LINE:
        return Rejected(Rejection.TOO_LONG, preview(line))
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected(Rejection.NOT_UTF8, preview(line))
    return read_text(text)


def read_text(text: str) -> ReadResult:
    """Read a code given as text (a decoded line, or the body of ``POST /v1/scans``)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_LINE:
        return Rejected(Rejection.TOO_LONG, preview(text.encode("utf-8", errors="replace")))
    code = _AIM.sub("", text.strip(), count=1).strip()
    shown = preview(code.encode("utf-8", errors="replace"))
    if not code:
        return Rejected(Rejection.EMPTY, "")
    if any(not ch.isprintable() for ch in code):
        return Rejected(Rejection.CONTROL_CHARS, shown)
    upper = code.upper()
    if is_card_code(upper):
        return ScannedCode(CodeKind.CARD, upper)
    if len(code) == NUMBER_LEN and code.isascii() and code.isdigit():
        return ScannedCode(CodeKind.NUMBER, code)
    match = _RECEIPT_URL.match(code)
    if match is not None:
        return ScannedCode(CodeKind.RECEIPT, match["token"].upper())
    # all digits is a product barcode (UPC-A has 12), never taken for a reward code (a random
    # code has a letter but for one in 17 million)
    if is_reward_code(upper) and not code.replace("-", "").replace(" ", "").isdigit():
        return ScannedCode(CodeKind.REWARD, normalize_reward_code(upper))
    if len(upper) == CODE_LEN and upper.startswith(PREFIX) and upper.isalnum():
        return Rejected(Rejection.BAD_CHECK, shown)
    return Rejected(Rejection.UNKNOWN, shown)
