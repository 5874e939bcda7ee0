"""HTTP manners both apps share for bodies worth caching or compressing (issue #14).

- ``cacheable``: an answer with a strong ``ETag`` (a digest of its bytes) that answers ``304 Not
  Modified`` to an ``If-None-Match`` naming it: the QR images, the OpenAPI documents, the
  pages' static files. ``no-cache`` still asks each time; the bytes only travel when changed.
- ``gzip_large_json``: JSON answers of ``GZIP_MIN_BYTES`` or more leave gzipped to a client
  that accepts gzip (a state pull, a customer list, the OpenAPI document). aiohttp compresses
  bodies over 4 KiB in its executor, so compressing never holds the event loop.
"""

import hashlib

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

GZIP_MIN_BYTES = 4096
"""Smaller JSON is sent as is: it fits a few packets and gzip would save little."""


def etag_of(body: bytes) -> str:
    """A strong entity tag for ``body``."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def cacheable(
    request: web.Request,
    body: bytes,
    content_type: str,
    *,
    etag: str | None = None,
    charset: str | None = None,
    cache_control: str = "no-cache",
) -> web.Response:
    """``body`` with its ``ETag``, or ``304`` without a body when the client has these bytes."""
    tag = etag or etag_of(body)
    headers = {hdrs.ETAG: tag, hdrs.CACHE_CONTROL: cache_control}
    if _matches(request.headers.get(hdrs.IF_NONE_MATCH, ""), tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)


@web.middleware
async def gzip_large_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Gzip a large JSON answer for a client that accepts it."""
    resp = await handler(request)
    if (
        isinstance(resp, web.Response)
        and resp.content_type == "application/json"
        and isinstance(resp.body, bytes)
        and len(resp.body) >= GZIP_MIN_BYTES
        and hdrs.CONTENT_ENCODING not in resp.headers
    ):
        resp.headers.add(hdrs.VARY, hdrs.ACCEPT_ENCODING)
        if "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, "").lower():
            resp.enable_compression(web.ContentCoding.gzip)
    return resp
