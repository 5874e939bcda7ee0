"""A local APNs stand-in: HTTP/2 over TLS (hypercorn in a thread), a client certificate
required, every push recorded; tokens in ``gone`` are answered 410 Unregistered."""

import asyncio
import contextlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.sync.cloud.wallet_pki import Pki


@dataclass
class Push:
    """One push as APNs received it."""

    path: str
    headers: dict[str, str]
    body: bytes
    http_version: str
    at: float  # time.monotonic()


@dataclass
class ApnsStandIn:
    """Start with ``start()``, stop with ``stop()``; ``url`` for ``apns_url``."""

    pki: Pki
    gone: set[str] = field(default_factory=set)
    client_cert: bool = True  # certificate auth; token auth sends a JWT instead
    pushes: list[Push] = field(default_factory=list)
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        token = scope["path"].rsplit("/", 1)[-1]
        self.pushes.append(
            Push(scope["path"], headers, body, scope["http_version"], time.monotonic())
        )
        status, answer = 200, b""
        if token in self.gone:
            status, answer = 410, json.dumps({"reason": "Unregistered"}).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.set_inheritable(True)
        self.url = f"https://localhost:{sock.getsockname()[1]}"
        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.certfile = str(self.pki.server_cert)
        config.keyfile = str(self.pki.server_key)
        # a client presents its pass certificate (issued by the WWDR intermediate) as APNs asks
        bundle = self.pki.root.parent / "apns-clients.pem"
        bundle.write_bytes(self.pki.root.read_bytes() + self.pki.wwdr.read_bytes())
        config.ca_certs = str(bundle)
        config.verify_mode = ssl.CERT_REQUIRED if self.client_cert else ssl.CERT_NONE
        config.alpn_protocols = ["h2"]
        config.accesslog = None
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            ready.set()
            loop.run_until_complete(serve(self._app, config, shutdown_trigger=self._stop.wait))  # type: ignore[arg-type]
            loop.close()
            with contextlib.suppress(OSError):  # hypercorn may have closed it
                sock.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def to(self, token: str) -> list[Push]:
        """The pushes sent to one device token."""
        return [p for p in self.pushes if p.path.endswith("/" + token)]
