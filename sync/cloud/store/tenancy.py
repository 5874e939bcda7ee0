"""Businesses, branches, devices and keys: creating them and telling who a key belongs to."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sync.cloud import keys
from sync.cloud.errors import Forbidden, NotFound, Unauthorized
from sync.cloud.models import BranchOut, DeviceOut, DeviceState, ProgramConfig
from sync.cloud.store.db import Row, Tx
from sync.contract.customers import canonical_card


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a device of one branch, or a business's admin."""

    kind: Literal["device", "admin"]
    business_id: int
    branch_id: int | None = None
    device_id: int | None = None

    def branch_for(self, wanted: int | None) -> int | None:
        """The branch to act on: a device only ever its own (``Forbidden`` otherwise)."""
        if self.kind == "device":
            if wanted is not None and wanted != self.branch_id:
                raise Forbidden("this device key acts only for its own branch", field="branch")
            return self.branch_id
        return wanted


@dataclass(frozen=True)
class DeviceInfo:
    """A device row, with the secret that signs its receipt QRs (never logged)."""

    device_id: int
    business_id: int
    branch_id: int
    label: str
    secret: str
    revoked: bool = False

    def __repr__(self) -> str:
        return f"DeviceInfo(device_id={self.device_id}, branch_id={self.branch_id}, secret=***)"


async def create_business(
    tx: Tx, name: str, now_us: int, country: str | None = None
) -> tuple[int, str]:
    """A new business (``country``: ISO 3166 alpha-2, where its customers' phones are read);
    its id and admin key (shown once)."""
    business_id = int(
        await tx.fetchval(
            "INSERT INTO businesses (name, admin_key_hash, created_us) VALUES (?, '', ?) "
            "RETURNING id",
            name,
            now_us,
        )
    )
    if country is not None:
        await tx.execute("UPDATE businesses SET country = ? WHERE id = ?", country, business_id)
    admin_key = await rotate_admin_key(tx, business_id)
    await tx.execute("INSERT INTO counters (business_id, card_seq) VALUES (?, 0)", business_id)
    return business_id, admin_key


async def rotate_admin_key(tx: Tx, business_id: int) -> str:
    """A new admin key for the business (shown once); the one it replaces stops working when
    this commits (``Store.rotate_admin_key`` tells the key caches of every cloud process)."""
    admin_key = keys.new_admin_key(business_id)
    found = await tx.fetchval(
        "UPDATE businesses SET admin_key_hash = ? WHERE id = ? RETURNING id",
        keys.hash_key(admin_key),
        business_id,
    )
    if found is None:
        raise NotFound("no such business", field="business")
    return admin_key


def branch_of(row: Row) -> BranchOut:
    """The branch of a ``branches`` row."""
    return BranchOut(
        branch_id=int(row["id"]),
        business_id=int(row["business_id"]),
        name=row["name"],
        timezone=row["timezone"],
        program=ProgramConfig.model_validate_json(row["program"]),
        program_version=int(row["program_version"]),
    )


async def create_branch(
    tx: Tx, business_id: int, name: str, timezone: str, program: ProgramConfig, now_us: int
) -> BranchOut:
    """A new branch with its program (version 1)."""
    row = await tx.fetchrow(
        "INSERT INTO branches (business_id, name, timezone, program, program_version, "
        "created_us) VALUES (?, ?, ?, ?, 1, ?) RETURNING *",
        business_id, name, timezone, program.model_dump_json(), now_us,
    )  # fmt: skip
    assert row is not None
    return branch_of(row)


async def get_branch(tx: Tx, business_id: int, branch_id: int) -> BranchOut:
    """The business's branch; ``NotFound`` if it is not one of its branches."""
    row = await tx.fetchrow(
        "SELECT * FROM branches WHERE id = ? AND business_id = ?", branch_id, business_id
    )
    if row is None:
        raise NotFound("no such branch in this business", field="branch")
    return branch_of(row)


async def list_branches(tx: Tx, business_id: int) -> list[BranchOut]:
    """The business's branches, oldest first."""
    rows = await tx.fetch("SELECT * FROM branches WHERE business_id = ? ORDER BY id", business_id)
    return [branch_of(r) for r in rows]


async def set_program(
    tx: Tx, business_id: int, branch_id: int, program: ProgramConfig
) -> BranchOut:
    """Change the branch's program; the version goes up so agents pick it up."""
    await get_branch(tx, business_id, branch_id)
    await tx.execute(
        "UPDATE branches SET program = ?, program_version = program_version + 1 WHERE id = ?",
        program.model_dump_json(),
        branch_id,
    )
    return await get_branch(tx, business_id, branch_id)


async def create_device(
    tx: Tx, business_id: int, branch_id: int, label: str, now_us: int
) -> DeviceOut:
    """A new device of the branch; its key and secret are shown this once."""
    await get_branch(tx, business_id, branch_id)
    secret = keys.new_device_secret()
    device_id = int(
        await tx.fetchval(
            "INSERT INTO devices (business_id, branch_id, label, key_hash, secret, created_us) "
            "VALUES (?, ?, ?, '', ?, ?) RETURNING id",
            business_id, branch_id, label, secret, now_us,
        )
    )  # fmt: skip
    device_key = keys.new_device_key(device_id)
    await tx.execute(
        "UPDATE devices SET key_hash = ? WHERE id = ?", keys.hash_key(device_key), device_id
    )
    return DeviceOut(
        device_id=device_id,
        branch_id=branch_id,
        label=label,
        device_key=device_key,
        device_secret=secret,
    )


async def device_info(tx: Tx, device_id: int) -> DeviceInfo | None:
    """The device's row, or ``None``."""
    row = await tx.fetchrow(
        "SELECT id, business_id, branch_id, label, secret, revoked_us FROM devices WHERE id = ?",
        device_id,
    )
    if row is None:
        return None
    return DeviceInfo(
        int(row["id"]), int(row["business_id"]), int(row["branch_id"]), row["label"],
        row["secret"], row["revoked_us"] is not None,
    )  # fmt: skip


async def authenticate(tx: Tx, key: str) -> Principal:
    """Who ``key`` belongs to; ``Unauthorized`` for anything that is not a current key."""
    parsed = keys.parse_key(key)
    if parsed is None:
        raise Unauthorized("unknown key")
    kind, ident = parsed
    if ident >= 2**62:
        raise Unauthorized("unknown key")
    if kind == "sk":
        row = await tx.fetchrow(
            "SELECT business_id, branch_id, key_hash FROM devices "
            "WHERE id = ? AND revoked_us IS NULL",
            ident,
        )
    else:
        row = await tx.fetchrow(
            "SELECT id AS business_id, NULL AS branch_id, admin_key_hash AS key_hash "
            "FROM businesses WHERE id = ?",
            ident,
        )
    if row is None or not keys.same_hash(row["key_hash"], keys.hash_key(key)):
        raise Unauthorized("unknown key")
    if kind == "sk":
        return Principal("device", int(row["business_id"]), int(row["branch_id"]), ident)
    return Principal("admin", int(row["business_id"]))


async def card_link_key(tx: Tx, card_code: str) -> bytes:
    """The key of the card's business that signs its private page link (made if missing)."""
    row = await tx.fetchrow(
        "SELECT b.id, b.link_key FROM customers c JOIN businesses b ON b.id = c.business_id "
        "WHERE c.card_code = ?",
        canonical_card(card_code),
    )
    if row is None:
        raise NotFound("no card with this code", code="unknown_card", field="card_code")
    if row["link_key"]:
        return bytes.fromhex(row["link_key"])
    key = secrets.token_hex(32)
    await tx.execute(
        "UPDATE businesses SET link_key = COALESCE(link_key, ?) WHERE id = ?", key, int(row["id"])
    )
    fresh = await tx.fetchval("SELECT link_key FROM businesses WHERE id = ?", int(row["id"]))
    return bytes.fromhex(fresh)


async def business_name(tx: Tx, business_id: int) -> str:
    """The business's name (``NotFound`` if none)."""
    name = await tx.fetchval("SELECT name FROM businesses WHERE id = ?", business_id)
    if name is None:
        raise NotFound("no such business")
    return str(name)


def _device_state(row: Row) -> DeviceState:
    revoked = row["revoked_us"]
    return DeviceState(
        device_id=int(row["id"]),
        branch_id=int(row["branch_id"]),
        label=row["label"],
        revoked_at=None if revoked is None else datetime.fromtimestamp(revoked / 1e6, UTC),
    )


async def list_devices(tx: Tx, business_id: int) -> list[DeviceState]:
    """The business's devices, oldest first."""
    rows = await tx.fetch(
        "SELECT id, branch_id, label, revoked_us FROM devices WHERE business_id = ? ORDER BY id",
        business_id,
    )
    return [_device_state(r) for r in rows]


async def revoke_device(tx: Tx, business_id: int, device_id: int, now_us: int) -> DeviceState:
    """Revoke a device's key (again: nothing changes); ``NotFound`` outside the business."""
    await tx.execute(
        "UPDATE devices SET revoked_us = COALESCE(revoked_us, ?) WHERE id = ? AND business_id = ?",
        now_us, device_id, business_id,
    )  # fmt: skip
    row = await tx.fetchrow(
        "SELECT id, branch_id, label, revoked_us FROM devices WHERE id = ? AND business_id = ?",
        device_id, business_id,
    )  # fmt: skip
    if row is None:
        raise NotFound("no such device in this business", field="id")
    return _device_state(row)
