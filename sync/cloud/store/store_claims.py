"""The ``Store``'s receipt-QR claims: verifying a token against its device's secret and claiming
it once (the queue is in ``claims.py``)."""

import random
from datetime import datetime

from sync.cloud.errors import Gone, NotFound
from sync.cloud.models import ClaimIn, ClaimOut
from sync.cloud.store.claims import CLAIM_STATUS, CLAIM_TEXT
from sync.cloud.store.store_tenancy import TenancyOps
from sync.cloud.store.tenancy import DeviceInfo
from sync.contract import claim_token


class ClaimOps(TenancyOps):
    """Receipt-QR tokens: verify, check and claim."""

    async def claim(self, token: str, body: ClaimIn, now: datetime, rng: random.Random) -> ClaimOut:
        """Claim a receipt QR onto the card the phone presents, or a new card (single use).

        Verified here, outside any lock; applied by the claim queue with whatever other claims
        of the branch are waiting (``claims.py``).
        """
        verified, device = await self.verify_token(token, now)
        return await self._claims.submit(verified, device, body, now, rng)

    async def claim_status(self, token: str, now: datetime) -> claim_token.ClaimToken:
        """The token's claim if it could be claimed right now (read only; raises like ``claim``)."""
        verified, device = await self.verify_token(token, now)
        async with self.db.read() as tx:
            row = await tx.fetchrow(
                "SELECT state, expires_us FROM receipt_qrs WHERE branch_id = ? AND order_ref = ? "
                "AND device_id = ?",
                device.branch_id, verified.order_ref, device.device_id,
            )  # fmt: skip
        if row is not None:
            problem = {"claimed": "already_claimed", "attached": "already_claimed",
                       "cancelled": "voided"}.get(row["state"])  # fmt: skip
            if problem is not None:
                raise CLAIM_STATUS[problem](CLAIM_TEXT[problem], code=problem, field="token")
        return verified

    async def receipt_shop(self, token: str, now: datetime) -> str:
        """The shop's name on a genuine receipt code, expired or spent too ("" for a code that
        is not ours: nothing is told about a forged one)."""
        try:
            await self.verify_token(token, now)
        except Gone:
            pass  # its signature held: only the clock is past it
        except NotFound:
            return ""
        device = await self.device(claim_token.peek_device(token))
        return await self.business_name(device.business_id) if device is not None else ""

    async def verify_token(
        self, token: str, now: datetime
    ) -> tuple[claim_token.ClaimToken, DeviceInfo]:
        try:
            device_id = claim_token.peek_device(token)
            device = await self.device(device_id)
            if device is None or device.revoked:
                raise claim_token.TokenError(
                    claim_token.TokenProblem.UNKNOWN_DEVICE, "this receipt code is not genuine"
                )
            return claim_token.verify(token, secret=device.secret, now=now), device
        except claim_token.TokenError as err:
            if err.problem is claim_token.TokenProblem.EXPIRED:
                raise Gone(str(err), code="expired", field="token") from err
            # one text for "no such device" and "bad signature": no oracle for device ids
            alike = (
                claim_token.TokenProblem.UNKNOWN_DEVICE,
                claim_token.TokenProblem.BAD_SIGNATURE,
            )
            text = str(err) if err.problem in alike else f"{err} ({err.problem.value})"
            raise NotFound(text, code="invalid", field="token") from err
