"""A fault-injecting TCP proxy for putting between the agent and the cloud in tests.

It forwards bytes both ways like any TCP proxy and, on command, misbehaves the way a shop's
internet link does:

- ``refuse = True``: accept and reset every new connection at once;
- ``fail_http(status, times, match)``: answer a request starting with ``match`` with an HTTP error
  itself, without the cloud ever seeing it;
- ``cut_after_response(times, match)``: forward the request, let the cloud process it and answer,
  then drop the answer and reset the connection (the cloud committed, the agent never heard);
- ``delay_s``: hold every answer from upstream that long before passing it on;
- ``blackhole = True``: accept, read and never answer.

The request matching looks at the first bytes of a chunk from the client (``b"POST /v1/sync/"``):
HTTP/1.1 clients write a request's head in one go, which is all a test proxy needs.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field

SYNC_POST = b"POST /v1/sync/events"
CHUNK = 64 * 1024


@dataclass
class ProxyStats:
    """What the proxy did, for assertions and for test logs."""

    connections: int = 0
    refused: int = 0
    injected: int = 0
    cuts: int = 0
    requests_matched: int = 0


@dataclass
class _Budget:
    times: int = 0  # -1: until cleared
    match: bytes = SYNC_POST
    status: int = 500

    def take(self, head: bytes) -> bool:
        if self.times == 0 or not head.startswith(self.match):
            return False
        if self.times > 0:
            self.times -= 1
        return True


def http_error(status: int) -> bytes:
    """A complete HTTP/1.1 error answer that closes the connection."""
    body = b'{"error": {"code": "proxy", "message": "injected by the fault proxy"}}'
    return (
        f"HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


@dataclass
class FaultProxy:
    """``127.0.0.1:<port>`` -> ``upstream_host:upstream_port``, with faults on command."""

    upstream_host: str
    upstream_port: int
    port: int = 0
    refuse: bool = False
    blackhole: bool = False
    delay_s: float = 0.0
    stats: ProxyStats = field(default_factory=ProxyStats)
    _fail: _Budget = field(default_factory=_Budget)
    _cut: _Budget = field(default_factory=_Budget)
    _server: asyncio.Server | None = None
    _conns: set["asyncio.Task[None]"] = field(default_factory=set)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "FaultProxy":
        """Start listening (on ``port``, or a free one when 0)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def fail_http(self, status: int = 500, times: int = -1, match: bytes = SYNC_POST) -> None:
        """Answer the next ``times`` matching requests with ``status`` (-1: until ``heal``)."""
        self._fail = _Budget(times=times, match=match, status=status)

    def cut_after_response(self, times: int = 1, match: bytes = SYNC_POST) -> None:
        """Let the next ``times`` matching requests through, then lose the cloud's answers."""
        self._cut = _Budget(times=times, match=match)

    def heal(self) -> None:
        """Back to a plain proxy."""
        self.refuse = self.blackhole = False
        self.delay_s = 0.0
        self._fail = _Budget()
        self._cut = _Budget()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self.stats.connections += 1
        try:
            if self.refuse:
                self.stats.refused += 1
                writer.transport.abort()
                return
            if self.blackhole:
                while await reader.read(CHUNK):
                    pass
                return
            await self._relay(reader, writer)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # close(): this task is the server's connection callback, nobody awaits it
        finally:
            self._conns.discard(task)
            writer.transport.abort()

    async def _relay(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            u_reader, u_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            return  # the cloud is down: the client sees its connection closed
        armed = asyncio.Event()  # a request whose answer must be lost went upstream

        async def upstream_pump() -> None:
            while chunk := await c_reader.read(CHUNK):
                if self._fail.take(chunk):
                    self.stats.injected += 1
                    c_writer.write(http_error(self._fail.status))
                    await c_writer.drain()
                    raise ConnectionResetError("injected")
                if self._cut.take(chunk):
                    self.stats.requests_matched += 1
                    armed.set()
                u_writer.write(chunk)
                await u_writer.drain()

        async def downstream_pump() -> None:
            while chunk := await u_reader.read(CHUNK):
                if armed.is_set():
                    self.stats.cuts += 1
                    raise ConnectionResetError("cut after the cloud answered")
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                c_writer.write(chunk)
                await c_writer.drain()

        pumps = [asyncio.create_task(upstream_pump()), asyncio.create_task(downstream_pump())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for p in pumps:
                p.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            u_writer.transport.abort()
            with contextlib.suppress(OSError):
                c_writer.transport.abort()
