"""Pairing phones and tablets with the agent, so that nobody types the agent's token on them.

The status page mints a short one-time code for a role (``kiosk`` or ``staff``); the device that
enters it gets its own random session cookie, of which only a SHA-256 is kept (in
``device_sessions``). A session is listed on the status page and revoked there. One code is open
at a time; it lasts ``CODE_TTL_S`` and burns after ``MAX_TRIES`` wrong guesses, so guessing six
digits from the LAN is hopeless.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, replace
from typing import Literal

from agent.db import AgentDb
from sync.contract.errors import ApiError, Forbidden, InvalidInput, NotFound, Unauthorized

Role = Literal["kiosk", "staff"]
ROLES: tuple[Role, ...] = ("kiosk", "staff")
COOKIE = "stampedge_device"
CODE_DIGITS = 6
CODE_TTL_S = 600.0
MAX_TRIES = 5
MAX_NAME = 60


class PairingRefused(ApiError):
    """The code entered is wrong, used up or expired."""

    status = 403


@dataclass(frozen=True, slots=True)
class PairingCode:
    """The open pairing code and the role a device gets for it."""

    code: str
    role: Role
    expires_at: float
    tries_left: int = MAX_TRIES


@dataclass(frozen=True, slots=True)
class DeviceSession:
    """A paired phone or tablet."""

    session_id: str
    role: Role
    name: str
    created_at: float
    revoked_at: float | None = None

    @property
    def source(self) -> str:
        """How its scans are named in the ``scans`` table (counted per device)."""
        return f"device:{self.session_id}"


def token_hash(token: str) -> str:
    """What is stored of a session cookie."""
    return hashlib.sha256(b"stampedge-device:" + token.encode()).hexdigest()


def new_code(role: Role, now: float) -> PairingCode:
    """A fresh random six-digit code for ``role``."""
    if role not in ROLES:
        raise InvalidInput(f"role: must be one of {', '.join(ROLES)}", field="role")
    return PairingCode(
        f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}", role, now + CODE_TTL_S
    )


def clean_name(name: str, role: Role, now_count: int) -> str:
    """The device's name as typed (printable, trimmed), or ``Kiosk 3`` / ``Staff 2``."""
    text = "".join(c for c in name if c.isprintable()).strip()[:MAX_NAME]
    return text or f"{role.capitalize()} {now_count + 1}"


class PairingBook:
    """The open code (in memory) and the sessions (SQLite, cached here by cookie hash)."""

    def __init__(self, db: AgentDb) -> None:
        self.db = db
        self.code: PairingCode | None = None
        self._by_hash: dict[str, DeviceSession] = {}

    async def load(self) -> None:
        """Read the sessions from the database (at start)."""
        rows = await self.db.fetchall("SELECT * FROM device_sessions ORDER BY created_at")
        self._by_hash = {
            r["token_hash"]: DeviceSession(
                r["session_id"], r["role"], r["name"], r["created_at"], r["revoked_at"]
            )
            for r in rows
        }

    def open_code(self, role: Role, now: float) -> PairingCode:
        """Replace any open code by a new one for ``role``."""
        self.code = new_code(role, now)
        return self.code

    def current_code(self, now: float) -> PairingCode | None:
        """The open code, if it has not expired or been used."""
        if self.code is not None and now > self.code.expires_at:
            self.code = None
        return self.code

    def close_code(self) -> None:
        """Withdraw the open code."""
        self.code = None

    async def pair(self, code: str, name: str, now: float) -> tuple[DeviceSession, str]:
        """Check ``code``; on success a new session and its cookie value (shown only here)."""
        open_code = self.current_code(now)
        given = "".join(c for c in code if c.isdigit())
        if open_code is None:
            raise PairingRefused(
                "no pairing code is open: make one on the agent's status page", code="no_code"
            )
        if not hmac.compare_digest(given.encode(), open_code.code.encode()):
            left = open_code.tries_left - 1
            self.code = replace(open_code, tries_left=left) if left > 0 else None
            raise PairingRefused(
                "that code is not right" + ("" if left > 0 else "; make a new one"),
                code="wrong_code",
                field="code",
            )
        self.code = None  # one device per code
        role = open_code.role
        count = sum(1 for s in self._by_hash.values() if s.role == role)
        session = DeviceSession(uuid.uuid4().hex[:12], role, clean_name(name, role, count), now)
        token = secrets.token_urlsafe(32)
        digest = token_hash(token)
        await self.db.write(
            [
                (
                    "INSERT INTO device_sessions (session_id, token_hash, role, name, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (session.session_id, digest, role, session.name, now),
                )
            ]
        )
        self._by_hash[digest] = session
        return session, token

    def find(self, token: str) -> DeviceSession | None:
        """The session a cookie names (revoked ones too), or None."""
        return self._by_hash.get(token_hash(token)) if token else None

    def check(self, token: str) -> DeviceSession:
        """The live session a cookie names; 401 if it is unknown or revoked."""
        session = self.find(token)
        if session is None:
            raise Unauthorized("this device is not paired with the agent", code="not_paired")
        if session.revoked_at is not None:
            raise Unauthorized(
                "this device was unpaired on the agent's status page; pair it again",
                code="device_revoked",
            )
        return session

    async def revoke(self, session_id: str, now: float) -> DeviceSession:
        """Unpair a device: its cookie stops working at once."""
        for digest, session in self._by_hash.items():
            if session.session_id == session_id:
                if session.revoked_at is None:
                    await self.db.write(
                        [
                            (
                                "UPDATE device_sessions SET revoked_at = ? WHERE session_id = ?",
                                (now, session_id),
                            )
                        ]
                    )
                    session = replace(session, revoked_at=now)
                    self._by_hash[digest] = session
                return session
        raise NotFound(f"no paired device {session_id!r}", code="unknown_device")

    def sessions(self) -> list[DeviceSession]:
        """Every paired device, newest first (revoked ones included)."""
        return sorted(self._by_hash.values(), key=lambda s: s.created_at, reverse=True)


def require_role(session: DeviceSession, *roles: Role) -> None:
    """403 unless ``session`` has one of ``roles``."""
    if session.role not in roles:
        raise Forbidden(
            f"a {session.role} device cannot do this; pair it as {' or '.join(roles)}",
            code="wrong_device_role",
        )
