"""A small HTTP/2 client for APNs over asyncio streams and the ``h2`` state machine: one TLS
connection, many concurrent streams, reconnected when the server closes it (GOAWAY).

Why not ``httpx[http2]``: measured on this machine (2026-12-07, a local hypercorn APNs stand-in
that answers ``curl --http2`` at ~470 requests/s sequentially), httpx/httpcore over anyio made
55-100 pushes/s whatever the concurrency, most of its time in its TLS stream's per-frame writes;
this client writes each request's frames in one go and reads with one task per connection."""

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions

READ_CHUNK = 65536
# a stream's answer to come, its status (set from the headers) and its body so far
_Stream = tuple["asyncio.Future[tuple[int, bytes]]", list[int], bytearray]


class H2Error(Exception):
    """The request did not get an answer (connection refused, closed, reset, timed out)."""


class H2Client:
    """Requests to one origin (``https://host:port``) over one HTTP/2 connection at a time."""

    def __init__(self, origin: str, ctx: ssl.SSLContext, timeout_s: float = 10.0) -> None:
        parts = urlsplit(origin)
        self._host = parts.hostname or ""
        self._port = parts.port or 443
        self._authority = parts.netloc
        ctx.set_alpn_protocols(["h2"])
        self._ctx = ctx
        self._timeout = timeout_s
        self._lock = asyncio.Lock()
        self._conn: _Connection | None = None

    async def _connection(self) -> "_Connection":
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await _Connection.open(
                    self._host, self._port, self._ctx, self._timeout
                )
            return self._conn

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """POST ``body`` to ``path``: the status and the answer's body."""
        conn = await self._connection()
        return await conn.request(self._authority, path, headers, body, self._timeout)

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h2 = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self._streams: dict[
            int, tuple[asyncio.Future[tuple[int, bytes]], list[int], bytearray]
        ] = {}
        self._room = asyncio.Condition()
        self.closed = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, host: str, port: int, ctx: ssl.SSLContext, timeout_s: float
    ) -> "_Connection":
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancellation that
            # arrives with the answer (see sync.web.waiting), and the push worker's stop with it
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=ctx, server_hostname=host
                )
        except (OSError, TimeoutError, ssl.SSLError) as err:
            raise H2Error(f"cannot connect to {host}:{port}: {err}") from err
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            writer.close()
            raise H2Error(f"{host}:{port} does not speak HTTP/2")
        conn = cls(reader, writer)
        conn._h2.initiate_connection()
        writer.write(conn._h2.data_to_send())
        conn._task = asyncio.create_task(conn._read(), name="h2-read")
        return conn

    def _free(self) -> bool:
        limit = self._h2.remote_settings.max_concurrent_streams
        return self._h2.open_outbound_streams < limit

    async def request(
        self, authority: str, path: str, headers: dict[str, str], body: bytes, timeout_s: float
    ) -> tuple[int, bytes]:
        async with self._room:
            await self._room.wait_for(lambda: self.closed or self._free())
            if self.closed:
                raise H2Error("the connection closed")
            sid = self._h2.get_next_available_stream_id()
            done: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
            self._streams[sid] = (done, [0], bytearray())
            request_headers = [
                (":method", "POST"), (":scheme", "https"), (":authority", authority),
                (":path", path), ("content-length", str(len(body))), *headers.items(),
            ]  # fmt: skip
            try:
                self._h2.send_headers(sid, request_headers)
                self._h2.send_data(sid, body, end_stream=True)
            except h2.exceptions.H2Error as err:
                self._streams.pop(sid, None)
                raise H2Error(f"cannot send: {err}") from err
            self._writer.write(self._h2.data_to_send())
        try:
            async with asyncio.timeout(timeout_s):  # not wait_for: see ``open``
                return await done
        except TimeoutError as err:
            raise H2Error("no answer in time") from err
        finally:
            self._streams.pop(sid, None)

    async def _read(self) -> None:
        try:
            while True:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    break
                try:
                    events = self._h2.receive_data(data)
                except h2.exceptions.H2Error:
                    break
                for event in events:
                    self._on(event)
                out = self._h2.data_to_send()
                if out:
                    self._writer.write(out)
                async with self._room:
                    self._room.notify_all()
                if self.closed and all(done.done() for done, _, _ in self._streams.values()):
                    break  # after GOAWAY: the streams it took have their answers
        except (OSError, ssl.SSLError):
            pass
        finally:
            await self._fail_all("the connection closed")

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            found = self._streams.get(event.stream_id)
            if found is not None:
                for name, value in event.headers or []:
                    if name == b":status":
                        found[1][0] = int(value)
        elif isinstance(event, h2.events.DataReceived):
            found = self._streams.get(event.stream_id)
            if found is not None:
                found[2].extend(event.data or b"")
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            found = self._streams.get(event.stream_id)
            if found is not None and not found[0].done():
                found[0].set_result((found[1][0], bytes(found[2])))
        elif isinstance(event, h2.events.StreamReset):
            found = self._streams.get(event.stream_id)
            if found is not None and not found[0].done():
                found[0].set_exception(H2Error(f"stream reset ({event.error_code})"))
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.closed = True  # GOAWAY: streams above last_stream_id were not processed
            last = event.last_stream_id or 0
            for sid, (done, _, _) in list(self._streams.items()):
                if sid > last and not done.done():
                    done.set_exception(H2Error("the server closed the connection (GOAWAY)"))

    async def _fail_all(self, why: str) -> None:
        self.closed = True
        for done, _, _ in self._streams.values():
            if not done.done():
                done.set_exception(H2Error(why))
        async with self._room:
            self._room.notify_all()
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.closed:
            await self._fail_all("closed")
