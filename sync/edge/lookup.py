"""Online customer look-up for ``GET /v1/customers`` on the agent, with a short memory of failure.

The POS waits on this answer, so it has a short timeout, and after a failure the cloud is not
asked again for ``quiet_s`` seconds: while the internet is down every look-up goes straight to the
agent's card cache instead of making the cashier wait each time.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from sync.edge.client import CloudAuthError, CloudClient, CloudUnreachable

log = logging.getLogger(__name__)


class CloudLookup:
    """``lookup(q)``: the cloud's matches, or None when the cloud cannot answer now."""

    def __init__(
        self,
        client: CloudClient,
        *,
        timeout_s: float = 2.0,
        quiet_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.quiet_s = quiet_s
        self.clock = clock
        self._failed_at: float | None = None

    async def lookup(self, q: str) -> list[dict[str, Any]] | None:
        """Matching customers from the cloud; None means "answer from the cache"."""
        now = self.clock()
        if self._failed_at is not None and now - self._failed_at < self.quiet_s:
            return None
        try:
            found = await self.client.customers(q, timeout_s=self.timeout_s)
        except (CloudUnreachable, CloudAuthError) as err:
            log.info("customer look-up from the cache: %s", err)
            self._failed_at = now
            return None
        self._failed_at = None
        return found
