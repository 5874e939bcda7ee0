"""The Poster link of a business and the webhooks it has taken (SQL over ``Tx``, both backends).

``poster_links``: one row per business (schema v6). ``poster_webhooks``: each webhook Poster
sent, keyed by its signature (``verify``), with what it did, so a repeat answers the same and
touches nothing (``sync/cloud/poster_webhook.py``).
"""

import json
from dataclasses import dataclass, field

from sync.cloud.store.db import Tx


@dataclass(frozen=True)
class PosterLink:
    """A business's link to its Poster account (the secret is never logged)."""

    business_id: int
    enabled: bool
    account: str
    secret: str
    api_url: str
    api_token: str | None
    branch_id: int | None
    spots: dict[str, int] = field(default_factory=dict)  # Poster spot id -> branch

    def branch_of(self, spot_id: object) -> int | None:
        """The branch a check of Poster spot ``spot_id`` credits (``None``: the business's
        first branch)."""
        return self.spots.get(str(spot_id), self.branch_id)

    def __repr__(self) -> str:
        return (
            f"PosterLink(business_id={self.business_id}, enabled={self.enabled}, "
            f"account={self.account!r}, api_url={self.api_url!r}, branch_id={self.branch_id}, "
            "secret=***)"
        )


@dataclass(frozen=True)
class TakenWebhook:
    """A webhook already taken: what it did."""

    outcome: str
    order_id: str | None


_LINK_COLUMNS = "business_id, enabled, account, secret, api_url, api_token, branch_id, spots"


async def get_link(tx: Tx, business_id: int) -> PosterLink | None:
    """The business's Poster link, if one was ever set."""
    row = await tx.fetchrow(
        f"SELECT {_LINK_COLUMNS} FROM poster_links WHERE business_id = ?",  # noqa: S608
        business_id,
    )
    if row is None:
        return None
    return PosterLink(
        business_id=int(row["business_id"]),
        enabled=bool(row["enabled"]),
        account=str(row["account"]),
        secret=str(row["secret"]),
        api_url=str(row["api_url"]),
        api_token=None if row["api_token"] is None else str(row["api_token"]),
        branch_id=None if row["branch_id"] is None else int(row["branch_id"]),
        spots={str(k): int(v) for k, v in json.loads(row["spots"] or "{}").items()},
    )


async def put_link(tx: Tx, link: PosterLink, now_us: int) -> None:
    """Create or replace the business's Poster link."""
    await tx.execute("DELETE FROM poster_links WHERE business_id = ?", link.business_id)
    await tx.execute(
        f"INSERT INTO poster_links ({_LINK_COLUMNS}, updated_us) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        link.business_id, int(link.enabled), link.account, link.secret, link.api_url,
        link.api_token, link.branch_id, json.dumps(link.spots, sort_keys=True), now_us,
    )  # fmt: skip


async def taken(tx: Tx, business_id: int, verify: str) -> TakenWebhook | None:
    """What the webhook with this signature did, if it was taken before."""
    row = await tx.fetchrow(
        "SELECT outcome, order_id FROM poster_webhooks WHERE business_id = ? AND verify = ?",
        business_id, verify,
    )  # fmt: skip
    if row is None:
        return None
    order_id = row["order_id"]
    return TakenWebhook(str(row["outcome"]), None if order_id is None else str(order_id))


async def take(
    tx: Tx,
    business_id: int,
    verify: str,
    fields: tuple[str, str, str],
    done: TakenWebhook,
    now_us: int,
) -> TakenWebhook:
    """Keep the webhook (``fields``: object, object id, action) with what it did; a webhook
    another process kept first wins, and its outcome is returned."""
    await tx.execute(
        "INSERT INTO poster_webhooks (business_id, verify, object, object_id, action, outcome, "
        "order_id, received_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        business_id, verify, *fields, done.outcome, done.order_id, now_us,
    )  # fmt: skip
    first = await taken(tx, business_id, verify)
    assert first is not None  # just written, or written by whoever came first
    return first
