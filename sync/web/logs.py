"""Logging set-up: plain lines for people, JSON lines on request; secrets never logged.

- The level comes from the config (``log_level``).
- JSON lines carry the ids a record was logged with (``extra={"order_id": ..., "event_id":
  ...}``) as their own fields, so a log search finds every line about one check or event.
- The access log (``log_access``) names method, path, status and time, never a key: no
  headers are logged, query values and the secret parts of paths (claim tokens, card-link
  signatures, anything shaped like a device or admin key) are replaced by ``…``.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

FIELDS = ("order_id", "event_id", "job_id", "scan_id", "till", "method", "path", "status",
          "duration_ms", "remote")  # fmt: skip
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}  # fmt: skip
ACCESS_LOGGER = "stampedge.access"
# Libraries whose debug lines hold query parameters (card codes, emails): never below info.
QUIET = ("aiosqlite", "asyncio", "urllib3", "PIL")
HIDDEN = "…"
_KEY = re.compile(r"\b([sa]k)_[A-Za-z0-9_\-]+")
_SECRET_PATHS = (
    re.compile(r"^(/[cC]/)[^/]+"),  # a receipt QR's claim token: whoever has it takes the stamps
    re.compile(r"^(/card/[^/]+/)[^/]+"),  # a card link's signature
    re.compile(r"^(/v1/(?:rewards|vouchers)/)[^/]+"),  # a redeem code passes once
)


def redact(path: str, query: str = "") -> str:
    """``path?query`` with its secrets replaced by ``…`` (query names are kept)."""
    for pattern in _SECRET_PATHS:
        path = pattern.sub(rf"\g<1>{HIDDEN}", path)
    path = _KEY.sub(rf"\g<1>_{HIDDEN}", path)
    if query:
        names = [part.split("=", 1)[0] for part in query.split("&") if part]
        path += "?" + "&".join(f"{_KEY.sub(HIDDEN, n)}={HIDDEN}" for n in names)
    return path


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ids given as ``extra`` (and
    the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without keys: see :func:`redact`. Off unless ``log_access``."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = redact(request.path, request.query_string)
        self.logger.info(
            "%s %s %d %.1f ms",
            request.method,
            path,
            response.status,
            time * 1000,
            extra={"method": request.method, "path": path, "status": response.status,
                   "duration_ms": round(time * 1000, 3), "remote": request.remote},
        )  # fmt: skip

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def access_logger() -> logging.Logger:
    """The logger ``serve`` hands to aiohttp with :class:`AccessLogger`."""
    return logging.getLogger(ACCESS_LOGGER)


def setup_logging(
    *, json_lines: bool = False, level: int | str = logging.INFO, access: bool = False
) -> None:
    """Send logs to stderr at ``level`` (a number or a name), as JSON lines if asked; the
    access log only when ``access``."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    number = LEVELS[level] if isinstance(level, str) else level
    root.setLevel(number)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(number, logging.INFO))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    access_logger().setLevel(logging.INFO if access else logging.WARNING)
