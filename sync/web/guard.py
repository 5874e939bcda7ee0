"""What both HTTP apps do against hostile browsers, before any handler runs.

A page open in any browser on the till PC (or on a phone) can send requests to the agent on
``127.0.0.1`` and to the cloud's forms: "simple" cross-site requests (``text/plain`` or form
bodies, no custom header) go out without a CORS preflight, and DNS rebinding lets an evil name
resolve to ``127.0.0.1`` so its page reads the agent's answers as same-origin. The guard:

- refuses a ``Host`` that is not one of the service's names (421): an IP literal, ``localhost``
  or a configured name passes, so a rebinding domain never does;
- refuses state-changing methods (anything but GET, HEAD, OPTIONS) whose ``Origin`` is neither
  the service's own nor an allowed one, or, without ``Origin``, whose ``Sec-Fetch-Site`` says
  another site (403 ``cross_origin``); a POS or a script sends neither header and passes;
- takes only ``application/json`` bodies on JSON routes (415);
- answers CORS (preflight ``OPTIONS``, ``Access-Control-Allow-Origin``,
  ``Access-Control-Allow-Private-Network``) for allowed origins only, so a browser-based till
  can call the agent on purpose.

Every answer also gets ``X-Content-Type-Options: nosniff``, a ``Server`` header without a
version, and pages (``text/html``) a strict ``Content-Security-Policy`` with
``frame-ancestors 'none'``.
"""

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError

from sync.web.http_util import error_response

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sec-Fetch-Site values a browser sends for the service's own pages or a typed-in address;
# "same-site" is refused too: another port on 127.0.0.1 is the same site as the agent.
_OWN_FETCH_SITES = frozenset({"same-origin", "none"})
_CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key"
_CORS_METHODS = "GET, HEAD, POST, PUT, DELETE"
SERVER_NAME = "stampedge"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower case, default ports dropped ("" if none)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return ""
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (no port, no brackets, no trailing dot), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class GuardPolicy:
    """Who may talk to a service from a browser.

    ``host_names``: the names a ``Host`` header may carry besides IP literals (``None``: any,
    for a service behind a reverse proxy that checks names itself). ``own_origins``: origins
    that are the service itself (its public URL), besides the request's own ``Host``.
    ``allowed_origins``: other sites allowed to call (CORS). ``json_prefixes``: paths whose
    bodies must be JSON. ``script_hashes``: CSP hashes (``sha256-...``) of the pages' scripts.
    """

    host_names: frozenset[str] | None = None
    own_origins: frozenset[str] = frozenset()
    allowed_origins: frozenset[str] = frozenset()
    json_prefixes: tuple[str, ...] = ("/v1/",)
    script_hashes: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls,
        *,
        host_names: Iterable[str] | None = None,
        own_urls: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        json_prefixes: tuple[str, ...] = ("/v1/",),
        script_hashes: tuple[str, ...] = (),
    ) -> "GuardPolicy":
        """A policy from settings' words: names and URLs are normalised here."""
        names = None if host_names is None else frozenset(host_name(h) for h in host_names)
        return cls(
            host_names=names,
            own_origins=frozenset(o for o in map(origin_of, own_urls) if o),
            allowed_origins=frozenset(o for o in map(origin_of, allowed_origins) if o),
            json_prefixes=json_prefixes,
            script_hashes=script_hashes,
        )

    def host_ok(self, host_header: str | None) -> bool:
        """True if the ``Host`` is an IP literal, ``localhost`` or one of the names."""
        if self.host_names is None:
            return True
        if not host_header:
            return False
        name = host_name(host_header)
        return _is_ip(name) or name == "localhost" or name in self.host_names

    def is_own(self, request: web.Request, origin: str) -> bool:
        """True if ``origin`` is the service itself (as addressed, or its public URL)."""
        here = origin_of(f"{request.scheme}://{request.host}")
        return origin == here or origin in self.own_origins

    def cross_site(self, request: web.Request) -> bool:
        """True if a browser sent this request from a page of another, not allowed, site.

        A real ``Origin`` decides. Pages with ``Referrer-Policy: no-referrer`` make browsers
        send ``Origin: null`` even for their own forms; then ``Sec-Fetch-Site`` decides, and
        a ``null`` origin without it is refused. Neither header: not a browser (a POS).
        """
        origin = request.headers.get(hdrs.ORIGIN)
        norm = origin_of(origin) if origin is not None else ""
        if norm:
            return not (self.is_own(request, norm) or norm in self.allowed_origins)
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site.lower() not in _OWN_FETCH_SITES
        return origin is not None

    def needs_json(self, request: web.Request) -> bool:
        """True if this request carries a body that must be JSON and is not."""
        if request.method in SAFE_METHODS or not request.path.startswith(self.json_prefixes):
            return False
        if not request.body_exists or request.content_length == 0:
            return False  # nothing to misread; a browser's empty POST is the Origin check's
        ctype = request.content_type.lower()  # "application/octet-stream" when none is given
        return not (ctype == "application/json" or ctype.endswith("+json"))

    def csp(self) -> str:
        """The pages' Content-Security-Policy: nothing from outside, no framing."""
        # scripts: the service's own files (the kiosk and staff pages) and inline scripts known
        # by hash (the status page); the camera's stream plays from a MediaStream
        scripts = " ".join(["'self'", *(f"'{h}'" for h in self.script_hashes)])
        return (
            "default-src 'none'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            f"script-src {scripts}; connect-src 'self'; media-src 'self' blob: mediastream:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )


def _cors_headers(origin: str) -> dict[str, str]:
    # No Allow-Credentials: an allowed till page sends its bearer token itself; the agent's
    # sign-in cookie stays for its own pages.
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def guard_middleware(policy: GuardPolicy) -> Middleware:
    """The guard as an aiohttp middleware (put it first, so it refuses before anything)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not policy.host_ok(request.headers.get(hdrs.HOST)):
            return error_response(
                421, "misdirected_request", "this service does not answer to that Host name"
            )
        origin = origin_of(request.headers.get(hdrs.ORIGIN, ""))
        allowed = origin in policy.allowed_origins
        if request.method == "OPTIONS" and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers:
            return _preflight(request, origin, allowed)
        if policy.cross_site(request):
            return error_response(
                403,
                "cross_origin",
                "requests from other web sites are refused; add the site to allowed_origins",
            )
        if policy.needs_json(request):
            return error_response(
                415, "unsupported_media_type", "send the body as Content-Type: application/json"
            )
        resp = await handler(request)
        if allowed and not resp.prepared:
            resp.headers.update(_cors_headers(origin))
        return resp

    return guard


def _preflight(request: web.Request, origin: str, allowed: bool) -> web.Response:
    """A CORS preflight: answered with permission for allowed origins only."""
    if not allowed:
        return error_response(403, "cross_origin", "this origin may not call this service")
    headers = {
        **_cors_headers(origin),
        "Access-Control-Allow-Methods": _CORS_METHODS,
        "Access-Control-Allow-Headers": _CORS_HEADERS,
        "Access-Control-Max-Age": "600",
    }
    # Private Network Access / Local Network Access: a public page calling a loopback or LAN
    # address asks for this explicitly; only allowed origins get it.
    if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
        headers["Access-Control-Allow-Private-Network"] = "true"
    return web.Response(status=204, headers=headers)


def install_guard(app: web.Application, policy: GuardPolicy) -> None:
    """Put the guard in front of ``app`` and its headers on every answer."""
    app.middlewares.insert(0, guard_middleware(policy))
    csp = policy.csp()

    async def headers(request: web.Request, resp: web.StreamResponse) -> None:
        del request
        resp.headers["Server"] = SERVER_NAME
        resp.headers["X-Content-Type-Options"] = "nosniff"
        if resp.content_type == "text/html":
            # pages show card codes, voucher codes and private links: never kept by a cache
            resp.headers.setdefault("Cache-Control", "no-store")
            resp.headers.setdefault("Content-Security-Policy", csp)
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault("Referrer-Policy", "no-referrer")

    app.on_response_prepare.append(headers)
    redact_bad_requests()


class _BadRequestRedactor(logging.Filter):
    """aiohttp logs a malformed request with the offending header line, e.g. a bearer key
    followed by a control character, and a body it cannot decompress with a traceback: keep
    one line ("who and what kind"), drop the bytes and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError | RequestPayloadError):
            record.msg = f"{record.msg}: malformed HTTP refused (%s %s; details withheld)"
            code = getattr(exc, "code", 400)
            record.args = (*(record.args or ()), code, type(exc).__name__)
            record.exc_info = None
            record.exc_text = None
        return True


_REDACTOR = _BadRequestRedactor()


def redact_bad_requests() -> None:
    """Install the redaction on aiohttp's server logger (once)."""
    server_log = logging.getLogger("aiohttp.server")
    if _REDACTOR not in server_log.filters:
        server_log.addFilter(_REDACTOR)


__all__ = ["GuardPolicy", "guard_middleware", "install_guard", "origin_of"]
