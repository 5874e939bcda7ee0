"""ETags and gzip on the cloud (issue #14): ``/openapi.json`` answers ``304`` to a client that
has it; large JSON (a till's state pull, the document) leaves gzipped when the client takes it,
and small JSON does not."""

import json

from tests.http_checks import assert_etag_revalidates, assert_gzipped_when_accepted, raw_get
from tests.sync.cloud.conftest import Cloud


async def test_given_the_openapi_document_then_it_revalidates_and_leaves_gzipped(
    cloud: Cloud,
) -> None:
    await assert_etag_revalidates(cloud.http, "/openapi.json")
    await assert_gzipped_when_accepted(cloud.http, "/openapi.json")


async def test_given_many_cards_then_the_state_pull_leaves_gzipped_and_health_does_not(
    cloud: Cloud,
) -> None:
    for n in range(60):
        await cloud.customer(email=f"c{n}@example.com", name=f"Customer {n}")
    plain = await assert_gzipped_when_accepted(
        cloud.http, "/v1/sync/state", Authorization=cloud.device()["Authorization"]
    )
    assert len(json.loads(plain)["cards"]) == 60
    status, headers, body = await raw_get(cloud.http, "/health", **{"Accept-Encoding": "gzip"})
    assert status == 200 and "Content-Encoding" not in headers and body.startswith(b"{")
