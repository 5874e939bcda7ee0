"""The agent's HTTP client for the cloud store: one session, typed answers, classified failures.

Every failure is raised as a ``SyncError`` subclass whose type says what the uploader must do:

- ``CloudUnreachable``: network errors, timeouts, 5xx, 408/429, answers that are not the
  protocol (a captive portal's HTML page) and 4xx that mean "wrong address" (404, 405): try the
  same events again later, with backoff. Never a reason to give up on an event.
- ``CloudAuthError``: 401/403, the device key is wrong or revoked. Retried too (a key fixed in the
  cloud must find every event still there), but shown loudly.
- ``CloudRefused``: 400/413/422, the cloud read the batch and refuses its content. The uploader
  splits the batch to find the event at fault; only a single refused event is dead-lettered.
"""

import gzip
import json
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict
from pydantic import BaseModel, ValidationError

from sync.contract.events import CardState, CustomerRef, EventStatus, SyncState
from sync.edge.errors import SyncError

M = TypeVar("M", bound=BaseModel)
Verdict = Literal["ok", "auth", "refused", "retry"]
Answer = tuple[str, EventStatus, str | None]  # one event's result: id, status, reason
STATUSES = {s.value: s for s in EventStatus}  # a dict lookup, not an Enum call per event
REFUSED = frozenset({400, 413, 422})
AUTH = frozenset({401, 403})
# A batch of 500 events is ~130 KB of JSON and ~22 KB gzipped at level 1 (0.7 ms here): on a
# shop's uplink of a few Mbit/s the bytes, not the CPU, set the drain rate. The cloud (aiohttp)
# inflates request bodies itself. To a cloud on the same box the bytes cost nothing and the
# (de)compression cost the drain ~4 % (bench/sync_drain.py), so loopback goes plain by default.
GZIP_MIN = 1024
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(url: str) -> bool:
    """True if ``url`` points at this machine."""
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK or host.startswith("127.")


class CloudUnreachable(SyncError):
    """The cloud could not be reached or did not answer usefully; try again later."""

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class CloudAuthError(SyncError):
    """The cloud refused the device key (401/403)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.kind = "auth"
        self.status = status


class CloudRefused(SyncError):
    """The cloud refused what was sent (400/413/422): a problem of content, not of the link."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.kind = "refused"
        self.status = status


class CloudAnswered(SyncError):
    """The cloud answered a request with a definite refusal (404, 409, 410), its error object
    kept as sent: the caller passes it on (a reward already redeemed, unknown, expired)."""

    def __init__(self, status: int, body: str) -> None:
        self.status = status
        try:
            data = json.loads(body)
            err = data["error"] if isinstance(data, dict) else None
        except ValueError:
            err = None
        self.error: dict[str, Any] = err if isinstance(err, dict) else {"message": body[:200]}
        super().__init__(f"HTTP {status}: {self.error.get('message')}")


ANSWERED = frozenset({404, 409, 410})


def verdict(status: int) -> Verdict:
    """What an HTTP status from the cloud means for the events sent (pure)."""
    if 200 <= status < 300:
        return "ok"
    if status in AUTH:
        return "auth"
    if status in REFUSED:
        return "refused"
    return "retry"


def parse_answers(text: str, effects: dict[str, Any] | None = None) -> list[Answer]:
    """``(id, status, reason)`` per result of a ``BatchResult`` answer, in the cloud's order;
    ``effects``, if given, gets each result's ``effects`` object (what it credited) by id.

    Checked by hand rather than through the pydantic model: this runs once per batch of 500 on
    the uploader's event loop, and the model (with a ``UUID`` per id) cost three times as much.
    """
    try:
        results = json.loads(text)["results"]
        out = [(r["id"], STATUSES[r["status"]], r.get("reason")) for r in results]
        if effects is not None:
            effects.update(
                (r["id"], r["effects"]) for r in results if isinstance(r.get("effects"), dict)
            )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CloudUnreachable(
            f"POST /v1/sync/events: the answer is not the sync protocol ({text[:80]!r})",
            kind="bad_answer",
        ) from err
    for eid, _, reason in out:
        if not isinstance(eid, str) or not (reason is None or isinstance(reason, str)):
            raise CloudUnreachable(
                f"POST /v1/sync/events: a result is not the sync protocol ({text[:80]!r})",
                kind="bad_answer",
            )
    return out


def error_message(body: str) -> str:
    """The cloud's ``{"error": {"message": ...}}`` text, or the start of the body."""
    try:
        data = json.loads(body)
        err = data["error"]
        code, message = err.get("code"), err.get("message")
        return f"{code}: {message}" if code else str(message)
    except (ValueError, KeyError, TypeError, AttributeError):
        return body.strip()[:200] or "(empty answer)"


class CloudClient:
    """Talks to one cloud store as one device; owns its ``aiohttp.ClientSession``."""

    def __init__(
        self,
        url: str,
        device_key: str,
        *,
        timeout_s: float,
        compress: bool | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        # None: gzip request bodies unless the cloud is on this machine.
        self.compress = not is_loopback(url) if compress is None else compress
        self._headers = {"Authorization": f"Bearer {device_key}"}
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                raise_for_status=False,
            )
        return self._session

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict[str, str] | None = None,
        timeout_s: float | None = None,
        answered: bool = False,
        send: dict[str, str] | None = None,
        got: CIMultiDict[str] | None = None,
    ) -> str:
        """The answer's text (2xx; ``""`` for a 304 when ``send`` has ``If-None-Match``);
        ``send``: more request headers; ``got``: filled with the answer's headers."""
        where = f"{method} {self.url}{path}"
        # Passing timeout=None to aiohttp would mean "no timeout at all".
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.timeout_s)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(send or {})
        if body is not None and self.compress and len(body) >= GZIP_MIN:
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        try:
            async with self._http().request(
                method,
                self.url + path,
                data=body,
                params=params,
                headers=headers,
                timeout=timeout,
            ) as resp:
                text = await resp.text()
                status = resp.status
                if got is not None:
                    got.update(resp.headers)
        except TimeoutError as err:
            raise CloudUnreachable(
                f"{where}: no answer within {timeout_s or self.timeout_s:g} s", kind="timeout"
            ) from err
        except (aiohttp.ClientError, OSError) as err:
            raise CloudUnreachable(f"{where}: {err or type(err).__name__}", kind="network") from err
        what = verdict(status)
        if what == "ok" or (status == 304 and "If-None-Match" in (send or {})):
            return text
        if answered and status in ANSWERED:
            raise CloudAnswered(status, text)
        message = f"{where}: HTTP {status}: {error_message(text)}"
        if what == "auth":
            raise CloudAuthError(
                f"{message} (check cloud.device_key; events stay queued)", status=status
            )
        if what == "refused":
            raise CloudRefused(message, status=status)
        kind = "http_5xx" if status >= 500 else f"http_{status}"
        raise CloudUnreachable(message, kind=kind, status=status)

    @staticmethod
    def _parse(model: type[M], text: str, where: str) -> M:
        try:
            return model.model_validate_json(text)
        except ValidationError as err:
            raise CloudUnreachable(
                f"{where}: the answer is not the sync protocol ({text[:80]!r})", kind="bad_answer"
            ) from err

    async def post_batch(self, body: bytes, effects: dict[str, Any] | None = None) -> list[Answer]:
        """``POST /v1/sync/events`` with an ``EventBatch`` already in JSON: the cloud's answers
        (and, into ``effects``, what each applied event credited)."""
        text = await self._request("POST", "/v1/sync/events", body=body)
        return parse_answers(text, effects)

    async def post_json(
        self, path: str, body: dict[str, Any], *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """``POST path`` with a JSON object; the JSON object answered (2xx), raising like every
        request (``CloudRefused`` for 400/413/422 only: other 4xx are ``CloudAnswered``)."""
        text = await self._request(
            "POST", path, body=json.dumps(body).encode(), timeout_s=timeout_s, answered=True
        )
        try:
            data = json.loads(text)
        except ValueError as err:
            raise CloudUnreachable(
                f"POST {path}: not JSON ({text[:80]!r})", kind="bad_answer"
            ) from err
        if not isinstance(data, dict):
            raise CloudUnreachable(f"POST {path}: not a JSON object", kind="bad_answer")
        return data

    async def get_state(self, cursor: int) -> SyncState:
        """``GET /v1/sync/state``: the program and the cards changed since ``cursor``."""
        state, _ = await self.get_state_unless(cursor, None)
        assert state is not None
        return state

    async def get_state_unless(
        self, cursor: int, etag: str | None
    ) -> tuple[SyncState | None, str | None]:
        """``get_state`` sent with ``If-None-Match: etag`` (if any): ``None`` when the cloud
        says it is unchanged (304), and the answer's ``ETag`` (if it gave one)."""
        send = {"If-None-Match": etag} if etag else None
        got: CIMultiDict[str] = CIMultiDict()
        text = await self._request(
            "GET", "/v1/sync/state", params={"cursor": str(cursor)}, send=send, got=got
        )
        tag = got.get("ETag")
        if send is not None and text == "" and tag == etag:
            return None, tag
        return self._parse(SyncState, text, "GET /v1/sync/state"), tag

    async def card_state(self, ref: CustomerRef) -> CardState:
        """``GET /v1/sync/card``: one card (balance, open rewards); ``CloudAnswered`` 404 for an
        unknown customer. The caller bounds the wait (a quote's budget)."""
        params = ref.model_dump(exclude_none=True)
        text = await self._request("GET", "/v1/sync/card", params=params, answered=True)
        return self._parse(CardState, text, "GET /v1/sync/card")

    async def customers(self, q: str, *, timeout_s: float) -> list[dict[str, Any]]:
        """``GET /v1/customers?q=``: matching customers as the cloud describes them."""
        text = await self._request("GET", "/v1/customers", params={"q": q}, timeout_s=timeout_s)
        try:
            data = json.loads(text)
            found = data["customers"]
            if not isinstance(found, list):
                raise TypeError("customers is not a list")
        except (ValueError, KeyError, TypeError) as err:
            raise CloudUnreachable(
                f"GET /v1/customers: unexpected answer ({text[:80]!r})", kind="bad_answer"
            ) from err
        return [c for c in found if isinstance(c, dict)]


__all__ = [
    "Answer",
    "CloudAnswered",
    "CloudAuthError",
    "CloudClient",
    "CloudRefused",
    "CloudUnreachable",
    "parse_answers",
    "verdict",
]
