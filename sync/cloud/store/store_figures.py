"""The ``Store``'s reads for the edge and the owner: a device's sync state and the branch's
figures (``figures.py``)."""

from datetime import date

from sync.cloud.models import StatsOut
from sync.cloud.store import figures
from sync.cloud.store.store_base import StoreBase
from sync.cloud.store.tenancy import Principal
from sync.contract.events import SyncState


class FigureOps(StoreBase):
    """The tills' sync state and the owner's figures."""

    async def sync_state(
        self, who: Principal, cursor: int, language: str, tags: list[str]
    ) -> SyncState | str:
        """The device's branch program and the cards changed after ``cursor``; or the tag among
        ``tags`` (``If-None-Match``) that still names it, for a 304 (``figures.sync_state``)."""
        assert who.branch_id is not None
        async with self.db.read() as tx:
            return await figures.sync_state(
                tx, who.business_id, who.branch_id, cursor, language, tags
            )

    async def stats(self, who: Principal, branch_id: int, first: date, last: date) -> StatsOut:
        """The branch's figures per day and per device."""
        async with self.db.read() as tx:
            return await figures.stats(tx, who.business_id, branch_id, first, last)
