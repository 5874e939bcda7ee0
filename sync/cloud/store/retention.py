"""The cloud's retention: spent and expired receipt QRs leave (issue #19).

A receipt QR's row (``receipt_qrs``: which card claimed it, when) is needed while its token can
still be claimed, and a little after, for a customer who asks why theirs was refused. Once its
token has been expired for ``claim_retention_days`` the token is refused by its own expiry
(``claim_token.verify``) whether or not the row is there, so the row goes; the figures keep
their counts (``tallies``). Dashboard sessions are signed cookies that end by themselves
(``dashboard_session``); the cloud keeps only the nonces of those signed out, until they would
have expired (``sessions.sweep_ended``).
"""

from sync.cloud.store.db import Tx

BATCH = 1000


async def prune_claims(tx: Tx, business_id: int, before_us: int, batch: int = BATCH) -> int:
    """Delete up to ``batch`` of the business's receipt QRs that expired before ``before_us``;
    how many went."""
    gone = await tx.fetch(
        "DELETE FROM receipt_qrs WHERE business_id = ? AND expires_us < ? AND order_ref IN "
        "(SELECT order_ref FROM receipt_qrs WHERE business_id = ? AND expires_us < ? LIMIT ?) "
        "RETURNING 1",
        business_id, before_us, business_id, before_us, batch,
    )  # fmt: skip
    return len(gone)
