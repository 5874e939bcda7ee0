"""The pages' scripts, styles and the vendored decoder, read once at start-up (in a worker
thread: nothing blocks the event loop) and served from memory with an ETag."""

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from sync.contract.errors import NotFound
from sync.web.caching import cacheable, etag_of

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
        files[path.name] = StaticFile(body, kind, etag_of(body))
    return files


def static_answer(files: dict[str, StaticFile], request: web.Request) -> web.Response:
    """``GET /static/{name}``: the file, or 304 when the browser has this version."""
    found = files.get(request.match_info["name"])
    if found is None:
        raise NotFound("no such file", code="not_found")
    return cacheable(request, found.body, found.content_type, etag=found.etag, charset="utf-8")
