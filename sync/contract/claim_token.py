"""Receipt-QR claim tokens (pure): minted offline by the agent, verified by the cloud.

Layout, 30 bytes, big-endian, then RFC 4648 base32 upper-case without padding (48 characters,
all inside the QR alphanumeric set):

    version u8 | device u32 | order_ref 8 bytes | stamps u16 | issued u32 (unix s) |
    ttl u16 (hours) | mac 9 bytes = HMAC-SHA256(secret, first 21 bytes)[:9]

``order_ref`` is the first 8 bytes of SHA-256 of the POS's ``order_id`` (of ``till``, a unit
separator and ``order_id`` when the check names its till: two tills of one agent may both close
check ``1001``), so the cloud can match a claim to the agent's "receipt QR issued" event whichever
arrives first, without the id in the QR. Releases before the till was part of it wrote the bare
form for every check; the cloud still takes that form (``order_refs``).
"""

import base64
import binascii
import functools
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from sync.contract.limits import MAX_STAMPS_PER_ORDER

VERSION = 1
_BODY = struct.Struct(">BI8sHIH")
_MAC_LEN = 9
TOKEN_BYTES = _BODY.size + _MAC_LEN
TOKEN_CHARS = 48
assert TOKEN_BYTES % 5 == 0  # base32 without padding
_NOT_OURS = "this code is not a Stampedge receipt code"


class TokenProblem(StrEnum):
    """Why a token did not verify; each is shown to the customer in plain words."""

    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_DEVICE = "unknown_device"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    TOO_MANY_STAMPS = "too_many_stamps"  # over the contract's per-check ceiling


class TokenError(ValueError):
    """A token that does not verify, with its ``problem``."""

    def __init__(self, problem: TokenProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class ClaimToken(BaseModel):
    """What a receipt QR says: which device, which order, how many stamps, until when."""

    model_config = ConfigDict(frozen=True)

    device_id: int
    order_ref: str  # 16 hex characters
    stamps: int
    issued_at: datetime
    expires_at: datetime


def order_ref(order_id: str, till: str | None = None) -> str:
    """The 8-byte reference of a POS order id at ``till``, as 16 hex characters."""
    return _ref(order_id, till).hex()


def order_refs(order_id: str, till: str | None) -> tuple[str, ...]:
    """The references a receipt QR of this check may carry: ``order_ref``'s, and the bare
    order id's that agents wrote before the till was part of it (their QRs still in the field)."""
    if till is None:
        return (order_ref(order_id),)
    return (order_ref(order_id, till), order_ref(order_id))


def _ref(order_id: str, till: str | None = None) -> bytes:
    # a till never holds a control character (``limits.is_till``): "\x1f" cannot be forged
    text = order_id if till is None else f"{till}\x1f{order_id}"
    return hashlib.sha256(text.encode()).digest()[:8]


@functools.lru_cache(maxsize=64)
def _keyed(secret: str) -> "hmac.HMAC":
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def _mac(secret: str, body: bytes) -> bytes:
    mac = _keyed(secret).copy()  # the keyed state is made once per secret, not per token
    mac.update(body)
    return mac.digest()[:_MAC_LEN]


def mint(
    *,
    secret: str,
    device_id: int,
    order_id: str,
    stamps: int,
    now: datetime,
    ttl_hours: int,
    till: str | None = None,
) -> tuple[str, ClaimToken]:
    """Mint the token for one order; returns the text for the QR and what it says.

    The one minter, the agent's order path included: ``ClaimToken.model_construct`` validates
    nothing, and minting with it measured no slower than without a model (2026-12-08, 20,000
    mints, best of 15, one process: 8.6 us against 9.8 us for the model-less variant it
    replaced)."""
    issued = int(now.timestamp())
    stamps = min(stamps, 0xFFFF)
    ref = _ref(order_id, till)
    body = _BODY.pack(VERSION, device_id, ref, stamps, issued, ttl_hours)
    return _b32(body + _mac(secret, body)), _claim(device_id, ref.hex(), stamps, issued, ttl_hours)


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> two characters


def _b32(raw: bytes) -> str:
    """RFC 4648 base32 of a whole number of 5-byte groups, as ``base64.b32encode`` gives it
    (the token is 30 bytes: 24 lookups instead of the module's per-group Python loop)."""
    n = int.from_bytes(raw, "big")
    return "".join([_PAIRS[(n >> shift) & 0x3FF] for shift in range(len(raw) * 8 - 10, -1, -10)])


def _claim(device: int, ref: str, stamps: int, issued: int, ttl: int) -> ClaimToken:
    at = datetime.fromtimestamp(issued, UTC)
    return ClaimToken.model_construct(  # the fields are built here from checked integers
        device_id=device,
        order_ref=ref,
        stamps=stamps,
        issued_at=at,
        expires_at=at + timedelta(hours=ttl),
    )


def _decode(text: str) -> bytes:
    clean = text.strip().upper()
    if len(clean) != TOKEN_CHARS:
        raise TokenError(TokenProblem.MALFORMED, _NOT_OURS)
    try:
        raw = base64.b32decode(clean)
    except (binascii.Error, ValueError) as err:
        raise TokenError(TokenProblem.MALFORMED, _NOT_OURS) from err
    if raw[0] != VERSION:
        raise TokenError(TokenProblem.UNSUPPORTED_VERSION, "this receipt code is of a newer kind")
    return raw


def peek_device(text: str) -> int:
    """The device a token claims to come from, before its signature is checked."""
    raw = _decode(text)
    device: int = _BODY.unpack(raw[: _BODY.size])[1]
    return device


def verify(text: str, *, secret: str, now: datetime) -> ClaimToken:
    """Check a token's signature and expiry; raise ``TokenError`` with a distinct problem."""
    raw = _decode(text)
    body, mac = raw[: _BODY.size], raw[_BODY.size :]
    if not secret or not hmac.compare_digest(mac, _mac(secret, body)):
        raise TokenError(TokenProblem.BAD_SIGNATURE, "this receipt code is not genuine")
    _, device, ref, stamps, issued, ttl = _BODY.unpack(body)
    claim = _claim(device, ref.hex(), stamps, issued, ttl)
    if now >= claim.expires_at:
        raise TokenError(TokenProblem.EXPIRED, "this receipt code has expired")
    if stamps > MAX_STAMPS_PER_ORDER:
        raise TokenError(TokenProblem.TOO_MANY_STAMPS, "this receipt code is worth too many stamps")
    return claim


def claim_url(base: str, token: str, *, uppercase: bool = True) -> str:
    """The URL printed in the QR; upper-cased so the whole QR stays in alphanumeric mode."""
    url = base + token
    return url.upper() if uppercase else url
