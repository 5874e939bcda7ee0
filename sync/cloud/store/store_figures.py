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

    async def sync_state(self, who: Principal, cursor: int) -> SyncState:
        """The device's branch program and the cards changed after ``cursor``."""
        assert who.branch_id is not None
        async with self.db.read() as tx:
            return await figures.sync_state(tx, who.business_id, who.branch_id, cursor)

    async def state_unchanged(self, who: Principal, cursor: int, tags: list[str]) -> str | None:
        """The tag among ``tags`` (``If-None-Match``) that still names the device's sync state
        at ``cursor`` (nothing changed: the answer is a 304), else ``None``."""
        assert who.branch_id is not None
        async with self.db.read() as tx:
            now = await figures.current_tag(tx, who.business_id, who.branch_id)
        if now is None or now[1] != cursor or now[0] not in tags:
            return None
        return now[0]

    async def stats(self, who: Principal, branch_id: int, first: date, last: date) -> StatsOut:
        """The branch's figures per day and per device."""
        async with self.db.read() as tx:
            return await figures.stats(tx, who.business_id, branch_id, first, last)
