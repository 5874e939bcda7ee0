"""The ``Store``'s tenancy operations: businesses, branches and their programs, device and admin
keys (the SQL is in ``tenancy.py``)."""

import time
from datetime import datetime

from sync.cloud import keys as key_text
from sync.cloud.backoffice import plans
from sync.cloud.book import to_us
from sync.cloud.models import BranchOut, DeviceOut, DeviceState, ProgramConfig
from sync.cloud.store import sessions, tenancy, vouchers
from sync.cloud.store.key_cache import KEYS_CHANNEL
from sync.cloud.store.sessions import SessionState
from sync.cloud.store.store_base import StoreBase
from sync.cloud.store.tenancy import DeviceInfo, Principal
from sync.contract.card_code import canonical_card_text

DEVICE_CACHE_S = 30.0


class TenancyOps(StoreBase):
    """Businesses, branches, devices and keys."""

    async def businesses_named(self, name: str) -> list[int]:
        """The ids of the businesses called ``name`` (case and outer spaces ignored)."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT id FROM businesses WHERE lower(trim(name)) = ? ORDER BY id",
                name.strip().lower(),
            )
        return [int(r[0]) for r in rows]

    async def create_business(
        self, name: str, now: datetime, country: str | None = None
    ) -> tuple[int, str]:
        """A new business (in ``country``, ISO 3166 alpha-2): its id and admin key."""
        async with self.db.write(0) as tx:
            return await tenancy.create_business(tx, name, to_us(now), country)

    async def create_branch(
        self, business_id: int, name: str, timezone: str, program: ProgramConfig, now: datetime
    ) -> BranchOut:
        """A new branch of the business."""
        async with self.db.write(business_id) as tx:
            return await tenancy.create_branch(tx, business_id, name, timezone, program, to_us(now))

    async def create_device(
        self, business_id: int, branch_id: int, label: str, now: datetime
    ) -> DeviceOut:
        """A new device key for the branch (``OverLimit`` past the plan's staff seats)."""
        async with self.db.write(business_id) as tx:
            plans.check_seats(
                await vouchers.plan_of(tx, business_id), await vouchers.seats_used(tx, business_id)
            )
            return await tenancy.create_device(tx, business_id, branch_id, label, to_us(now))

    async def set_program(
        self, business_id: int, branch_id: int, program: ProgramConfig
    ) -> BranchOut:
        """Change a branch's program."""
        async with self.db.write(business_id) as tx:
            return await tenancy.set_program(tx, business_id, branch_id, program)

    async def branch(self, business_id: int, branch_id: int) -> BranchOut:
        """One branch of the business."""
        async with self.db.read() as tx:
            return await tenancy.get_branch(tx, business_id, branch_id)

    async def branches(self, business_id: int) -> list[BranchOut]:
        """Every branch of the business."""
        async with self.db.read() as tx:
            return await tenancy.list_branches(tx, business_id)

    async def business_name(self, business_id: int) -> str:
        """The business's name, for pages."""
        async with self.db.read() as tx:
            return await tenancy.business_name(tx, business_id)

    async def card_link_key(self, card_code: str) -> bytes:
        """The secret that signs this card's private page link (``NotFound`` for no card)."""
        async with self.db.read() as tx:
            row = await tx.fetchrow(
                "SELECT c.business_id, b.link_key FROM customers c JOIN businesses b "
                "ON b.id = c.business_id WHERE c.card_code = ?",
                canonical_card_text(card_code),
            )
        if row is not None and row["link_key"]:
            return bytes.fromhex(row["link_key"])
        async with self.db.write(int(row["business_id"]) if row else 0) as tx:
            return await tenancy.card_link_key(tx, card_code)

    async def session_state(self, business_id: int, nonce: str = "") -> SessionState | None:
        """What checking a dashboard session of the business needs: its admin-key hash (the
        sessions are signed under it), its last "sign out everywhere" and whether ``nonce``
        was signed out (``sessions.py``)."""
        async with self.db.read() as tx:
            return await sessions.session_state(tx, business_id, nonce)

    async def end_session(self, business_id: int, nonce: str, expires_s: int) -> None:
        """Sign one dashboard session out (until it would have expired)."""
        async with self.db.write(business_id) as tx:
            await sessions.end_session(tx, business_id, nonce, expires_s)

    async def end_all_sessions(self, business_id: int, now_s: int) -> None:
        """Sign out every dashboard session of the business issued up to ``now_s``."""
        async with self.db.write(business_id) as tx:
            await sessions.end_all_sessions(tx, business_id, now_s)

    async def authenticate(self, key: str) -> Principal:
        """Who the key belongs to (``Unauthorized`` if nobody); a key found current is not
        looked up again for a while, revocations aside (``key_cache.py``)."""
        key_hash = key_text.hash_key(key)
        who = self.keys.get(key_hash)
        if who is not None:
            return who
        started = time.monotonic()
        async with self.db.read() as tx:
            who = await tenancy.authenticate(tx, key)
        self.keys.put(key_hash, who, started)
        return who

    async def rotate_admin_key(self, business_id: int) -> str:
        """A new admin key for the business, shown once; the old one stops working at once
        (in every process on this database: ``key_cache.py``)."""
        async with self.db.write(business_id) as tx:
            key = await tenancy.rotate_admin_key(tx, business_id)
            await tx.announce(KEYS_CHANNEL, f"ak:{business_id}")
        self.keys.drop("ak", business_id)
        return key

    async def device(self, device_id: int) -> DeviceInfo | None:
        """A device with its secret; kept in memory for ``DEVICE_CACHE_S`` (a secret never
        changes; a revocation made by another process on the same database shows within that
        time, one made through this store at once)."""
        known = self._devices.get(device_id)
        if known is not None and time.monotonic() - known[0] < DEVICE_CACHE_S:
            return known[1]
        async with self.db.read() as tx:
            found = await tenancy.device_info(tx, device_id)
        if found is not None:
            self._devices[device_id] = (time.monotonic(), found)
        return found

    async def devices(self, business_id: int) -> list[DeviceState]:
        """The business's devices (without keys or secrets)."""
        async with self.db.read() as tx:
            return await tenancy.list_devices(tx, business_id)

    async def revoke_device(self, business_id: int, device_id: int, now: datetime) -> DeviceState:
        """Revoke a device key: it stops syncing, and its receipt QRs stop being claimable."""
        async with self.db.write(business_id) as tx:
            out = await tenancy.revoke_device(tx, business_id, device_id, to_us(now))
            await tx.announce(KEYS_CHANNEL, f"sk:{device_id}")
        self.keys.drop("sk", device_id)
        self._devices.pop(device_id, None)
        return out
