"""ETags and gzip on the agent (issue #14): the receipt QR's images and ``/openapi.json``
answer ``304`` to a client that has them; large JSON leaves gzipped when the client takes it."""

from typing import Any

from aiohttp.test_utils import TestClient

from tests.http_checks import assert_etag_revalidates, assert_gzipped_when_accepted, raw_get


async def test_given_a_receipt_qr_when_its_images_are_fetched_again_then_304(
    agent: TestClient[Any, Any],
) -> None:
    placed = await agent.post("/v1/orders", json={"order_id": "E-1", "total": "25.00"})
    assert placed.status == 201
    png = await assert_etag_revalidates(agent, "/v1/orders/E-1/qr.png")
    assert png.startswith(b"\x89PNG")
    svg = await assert_etag_revalidates(agent, "/v1/orders/E-1/qr.svg")
    assert svg.startswith(b"<")
    # another size of the image is other bytes: another tag
    _, big, _ = await raw_get(agent, "/v1/orders/E-1/qr.png?scale=12")
    _, small, _ = await raw_get(agent, "/v1/orders/E-1/qr.png")
    assert big["ETag"] != small["ETag"]


async def test_given_the_openapi_document_then_it_revalidates_and_leaves_gzipped(
    agent: TestClient[Any, Any],
) -> None:
    await assert_etag_revalidates(agent, "/openapi.json")
    await assert_gzipped_when_accepted(agent, "/openapi.json")
    status, headers, body = await raw_get(agent, "/health", **{"Accept-Encoding": "gzip"})
    assert status == 200 and "Content-Encoding" not in headers and body.startswith(b"{")
