"""The pages' scripts, styles and the vendored decoder, read once at start-up (in a worker
thread: nothing blocks the event loop) and served from memory with an ETag."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from sync.contract.errors import NotFound

STATIC = Path(__file__).parent / "static"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".txt": "text/plain",
    ".md": "text/markdown",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file as it is answered."""

    body: bytes
    content_type: str
    etag: str


def load_static(folder: Path = STATIC) -> dict[str, StaticFile]:
    """Every servable file of ``folder`` by name (blocking: run it in a thread)."""
    files = {}
    for path in sorted(folder.iterdir()):
        kind = TYPES.get(path.suffix)
        if kind is None or not path.is_file():
            continue
        body = path.read_bytes()
        files[path.name] = StaticFile(body, kind, f'"{hashlib.sha256(body).hexdigest()[:16]}"')
    return files


def static_answer(files: dict[str, StaticFile], request: web.Request) -> web.Response:
    """``GET /static/{name}``: the file, or 304 when the browser has this version."""
    found = files.get(request.match_info["name"])
    if found is None:
        raise NotFound("no such file", code="not_found")
    headers = {"ETag": found.etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == found.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=found.body, content_type=found.content_type, charset="utf-8", headers=headers
    )
