"""Serving an aiohttp app on an address, so that idle sockets cannot starve it of file
descriptors, and waiting for SIGINT or SIGTERM to stop it.

Shared by the agent (``agent.http.server``), the cloud store (``sync.cloud.cli``) and the demo.

Under systemd's usual limit of 1,024 descriptors, 1,100 idle sockets once made every POS order
time out (accept() failed with EMFILE) and wrote megabytes of tracebacks. Here:

- a connection must send its request within ``IDLE_TIMEOUT_S`` and may idle between requests
  as long (aiohttp's keep-alive timer, which also runs from the moment a socket is accepted);
  aiohttp's own default is an hour;
- at most ``connection_limit()`` connections are held: the descriptor limit less those open
  at start and a reserve for the database, the printer and the cloud link. A connection over
  the limit closes the oldest connection that is not serving a request (an idle one), so a
  POS arriving after a thousand idle sockets is still served;
- "accept() out of system resource" is logged at most once a minute, with a count, no
  traceback.
"""

import asyncio
import logging
import os
import resource
import signal
import ssl
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from sync.web.logs import AccessLogger, access_logger

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 15.0
FD_RESERVE = 128  # descriptors kept free for SQLite, printers, scanners and the cloud link
_ACCEPT_ERROR = "socket.accept() out of system resource"


def open_descriptors() -> int:
    """How many file descriptors this process holds now."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64  # no /proc: a fair guess for a fresh process


def connection_limit(soft_limit: int | None = None, open_now: int | None = None) -> int:
    """The most connections to hold under the descriptor limit, keeping ``FD_RESERVE`` free."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY or soft_limit <= 0:
        soft_limit = 65536
    used = open_descriptors() if open_now is None else open_now
    return max(8, soft_limit - used - FD_RESERVE)


class _Limited:
    """The protocol factory in front of aiohttp's ``Server``: evicts idle connections."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server = server
        self.limit = limit
        self.evicted = 0

    def __call__(self) -> RequestHandler:
        handler = self._server()
        over = len(self._server.connections) + 1 - self.limit
        if over > 0:
            idle = [h for h in self._server.connections if not _busy(h)]
            # oldest first (connections are kept in arrival order); requests being served are
            # never cut: they end soon by themselves
            for victim in idle[:over]:
                victim.force_close()
                self.evicted += 1
        return handler


def _busy(handler: RequestHandler) -> bool:
    # aiohttp keeps no public flag for "a request is being handled on this connection"
    return bool(getattr(handler, "_request_in_progress", False))


class GuardedSite(web.TCPSite):
    """A ``TCPSite`` whose connections are limited (``_Limited``)."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        limit: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # asyncio accepts up to ``backlog`` sockets in one go before any protocol runs: a
        # backlog under the limit keeps one burst of idle sockets from using every descriptor
        super().__init__(
            runner,
            host,
            port,
            reuse_address=True,
            backlog=max(16, min(128, limit // 2)),
            ssl_context=ssl_context,
        )
        self.limit = limit
        self.factory: _Limited | None = None

    async def start(self) -> None:
        """Listen, with the limited factory instead of aiohttp's own."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self.factory = _Limited(server, self.limit)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.factory,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=True,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


class AcceptErrorLog:
    """A loop exception handler: accept() failures once per ``every_s`` with a count; every
    other problem goes to the loop's default handler."""

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.every_s = every_s
        self._clock = clock
        self._last = -float("inf")
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Handle one report of the loop."""
        if context.get("message") != _ACCEPT_ERROR:
            if "_start_serving" in repr(context.get("handle")):
                # asyncio resumes accepting 1 s after an accept error; if the server closed
                # meanwhile, that retry fails on the closed socket: nothing is lost
                log.debug("listening socket closed before accepting resumed")
                return
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if now - self._last < self.every_s:
            self.suppressed += 1
            return
        self._last = now
        exc = context.get("exception")
        log.error(
            "cannot accept connections: %s (%d more since the last report); "
            "raise the descriptor limit (LimitNOFILE=) or look for idle clients",
            exc, self.suppressed,
        )  # fmt: skip
        self.suppressed = 0


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    what: str,
    ssl_context: ssl.SSLContext | None = None,
) -> web.AppRunner:
    """Start ``app`` on ``host:port`` (HTTPS with ``ssl_context``) with the timeouts and limits
    above; returns the runner."""
    runner = web.AppRunner(
        app,
        access_log=access_logger(),
        access_log_class=AccessLogger,
        handle_signals=False,
        keepalive_timeout=IDLE_TIMEOUT_S,
    )
    await runner.setup()
    limit = connection_limit()
    site = GuardedSite(runner, host, port, limit=limit, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError:  # port in use: close what setup opened (database threads) before saying so
        await runner.cleanup()
        raise
    asyncio.get_running_loop().set_exception_handler(AcceptErrorLog())
    scheme = "https" if ssl_context is not None else "http"
    log.info("%s listening on %s://%s:%d (at most %d connections)", what, scheme, host, port, limit)
    return runner


async def wait_for_stop() -> None:
    """Return when SIGINT or SIGTERM arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


__all__ = ["AcceptErrorLog", "GuardedSite", "connection_limit", "serve", "wait_for_stop"]
