"""What every part of the ``Store`` shares: its database, key and device caches, start,
close and the gauges it shows (``store.py`` puts the parts together).

Every operation that reads, checks and writes runs inside ``Db.write(business_id)``, so a batch,
a claim or a redeem sees no interleaved write of the same business (see ``db.py``).
"""

from sync.cloud.metrics import StoreLoad
from sync.cloud.store.claims import ClaimQueue
from sync.cloud.store.db import Db
from sync.cloud.store.group_commit import GroupCommit
from sync.cloud.store.ingest import BatchPipeline
from sync.cloud.store.key_cache import KEYS_CHANNEL, KeyCache
from sync.cloud.store.off_loop import OffLoop
from sync.cloud.store.sqlite import SqliteDb
from sync.cloud.store.tenancy import DeviceInfo


class StoreBase:
    """What every part of the store shares: the database, the caches and the lifecycle."""

    def __init__(self, db: Db, schema_version: int) -> None:
        self.db = db
        self.schema_version = schema_version
        self._devices: dict[int, tuple[float, DeviceInfo]] = {}
        self.keys = KeyCache()
        self._claims = ClaimQueue(db)
        # SQLite: batches go through the write pipeline (``ingest.py``); PostgreSQL: those of
        # concurrent requests share transactions (``group_commit.py``)
        self.off_loop = OffLoop()  # a big batch's CPU steps leave the event loop (``off_loop.py``)
        self._batches = BatchPipeline(db, self.off_loop) if isinstance(db, SqliteDb) else None
        self._groups: GroupCommit | None = None
        if db.dialect == "postgresql":
            from sync.cloud.store.postgres import PgDb  # asyncpg only where it is used

            assert isinstance(db, PgDb)
            self._groups = GroupCommit(db, db.wrote, self.off_loop)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def start(self) -> None:
        """Hear key revocations made by other processes on this database (``key_cache.py``)."""
        await self.db.listen(KEYS_CHANNEL, self._heard, self._trust)

    def _heard(self, payload: str) -> None:
        self.keys.heard(payload)
        kind, _, ident = payload.partition(":")
        if kind == "sk" and ident.isdigit():
            self._devices.pop(int(ident), None)

    def _trust(self, trusted: bool) -> None:
        self.keys.clear()
        self.keys.trusted = trusted
        self._devices.clear()

    def load(self) -> StoreLoad:
        """The gauges ``/metrics`` shows of this store."""
        pool_open, pool_in_use = self.db.connections()
        stats = self.keys.stats
        return StoreLoad(
            key_hits=stats.hits,
            key_misses=stats.misses,
            keys_cached=len(self.keys),
            keys_trusted=self.keys.trusted,
            batches_waiting=sum(q.waiting for q in (self._batches, self._groups) if q is not None),
            pool_open=pool_open,
            pool_in_use=pool_in_use,
            group_commits=self._groups.groups if self._groups is not None else 0,
            group_batches=self._groups.grouped if self._groups is not None else 0,
        )

    async def close(self) -> None:
        """Close the database (after the batches already sent are applied)."""
        if self._batches is not None:
            await self._batches.close()
        if self._groups is not None:
            await self._groups.close()
        await self.off_loop.close()
        await self.db.close()

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.db.read() as tx:
            await tx.fetchval("SELECT 1")
