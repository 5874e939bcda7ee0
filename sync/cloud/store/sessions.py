"""Dashboard sessions ended on the server (issue #14): sign-out and "sign out everywhere".

A session is a signed cookie (``dashboard_session``) that would stay valid until it expires;
sign-out records its nonce in ``ended_sessions`` until that expiry, so a copy of the cookie is
refused as well. "Sign out everywhere" sets the business's ``sessions_after_us``: every session
issued up to then is ended. Housekeeping deletes the rows of sessions that expired anyway
(``sweep_ended``): the table holds at most the sessions signed out in the last ``SESSION_S``.
"""

from dataclasses import dataclass

from sync.cloud.store.db import Tx

US = 1_000_000


@dataclass(frozen=True, slots=True)
class SessionState:
    """What a session's check needs from the store, in one read."""

    key_hash: str  # the business's current admin-key hash (sessions are signed under it)
    sessions_after_s: int  # the last "sign out everywhere" (Unix seconds; 0: never)
    signed_out: bool  # this session's nonce was signed out


async def session_state(tx: Tx, business_id: int, nonce: str) -> SessionState | None:
    """The business's key hash, last "everywhere" and whether ``nonce`` was signed out;
    ``None`` for an unknown business or one without an admin key."""
    row = await tx.fetchrow(
        "SELECT admin_key_hash, sessions_after_us, EXISTS (SELECT 1 FROM ended_sessions "
        "WHERE nonce = ? AND business_id = ?) AS signed_out FROM businesses WHERE id = ?",
        nonce, business_id, business_id,
    )  # fmt: skip
    if row is None or not row["admin_key_hash"]:
        return None
    return SessionState(
        str(row["admin_key_hash"]), int(row["sessions_after_us"]) // US, bool(row["signed_out"])
    )


async def end_session(tx: Tx, business_id: int, nonce: str, expires_s: int) -> None:
    """Sign one session out until ``expires_s`` (when it would end by itself)."""
    await tx.execute(
        "INSERT INTO ended_sessions (nonce, business_id, expires_us) VALUES (?, ?, ?) "
        "ON CONFLICT (nonce) DO NOTHING",
        nonce, business_id, expires_s * US,
    )  # fmt: skip


async def end_all_sessions(tx: Tx, business_id: int, now_s: int) -> None:
    """End every session of the business issued up to ``now_s``."""
    await tx.execute(
        "UPDATE businesses SET sessions_after_us = ? WHERE id = ? AND sessions_after_us < ?",
        now_s * US, business_id, now_s * US,
    )  # fmt: skip


async def sweep_ended(tx: Tx, business_id: int, now_s: int) -> int:
    """Delete the business's rows of signed-out sessions that have expired by ``now_s``; how
    many."""
    gone = await tx.fetch(
        "DELETE FROM ended_sessions WHERE business_id = ? AND expires_us <= ? RETURNING 1",
        business_id, now_s * US,
    )  # fmt: skip
    return len(gone)
