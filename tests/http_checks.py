"""Checks of HTTP manners both apps share (``sync/web/caching.py``): ETags and gzip, read as
the raw bytes on the wire (aiohttp's client would otherwise decompress them)."""

import gzip
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient


async def raw_get(
    client: TestClient[Any, Any], path: str, **headers: str
) -> tuple[int, Any, bytes]:
    """Status, headers and the body's bytes exactly as sent."""
    async with (
        aiohttp.ClientSession(auto_decompress=False) as s,
        s.get(client.make_url(path), headers=headers) as r,
    ):
        return r.status, r.headers, await r.read()


async def assert_etag_revalidates(client: TestClient[Any, Any], path: str, **headers: str) -> bytes:
    """``path`` answers with an ETag; asked again with it, ``304`` and no body; with another
    tag, the body again. Returns the body."""
    status, first, body = await raw_get(client, path, **headers)
    assert status == 200 and body, (path, status)
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    status, again, empty = await raw_get(client, path, **headers, **{"If-None-Match": etag})
    assert (status, empty, again["ETag"]) == (304, b"", etag)
    status, _, weak = await raw_get(client, path, **headers, **{"If-None-Match": f'"x", W/{etag}'})
    assert (status, weak) == (304, b"")
    status, _, other = await raw_get(client, path, **headers, **{"If-None-Match": '"other"'})
    assert (status, other) == (200, body)
    return body


async def assert_gzipped_when_accepted(
    client: TestClient[Any, Any], path: str, **headers: str
) -> bytes:
    """A large JSON answer leaves gzipped to a client that accepts gzip, as is otherwise;
    the two are the same JSON. Returns the plain body."""
    status, plain_headers, plain = await raw_get(
        client, path, **headers, **{"Accept-Encoding": "identity"}
    )
    assert status == 200 and "Content-Encoding" not in plain_headers
    assert len(plain) >= 4096, len(plain)
    status, gz_headers, packed = await raw_get(
        client, path, **headers, **{"Accept-Encoding": "gzip, br"}
    )
    assert status == 200 and gz_headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in gz_headers.get("Vary", "")
    assert gzip.decompress(packed) == plain and len(packed) < len(plain)
    return plain
