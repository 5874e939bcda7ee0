"""Reading JSON bodies strictly and answering errors as JSON, at the HTTP boundary."""

import asyncio
import json
import logging
import time
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError
from pydantic import BaseModel, ValidationError

from sync.contract.errors import ApiError, InvalidInput

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    extra: dict[str, str] | None = None,
) -> web.Response:
    """The one error shape: ``{"error": {"code", "message", "field"}}`` (``extra``: a few more
    keys some codes carry, such as ``valid_from`` of ``not_active``)."""
    body: dict[str, str | None] = {"code": code, "message": message, "field": field}
    if extra:
        body.update(extra)
    return web.json_response({"error": body}, status=status)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def validation_error(err: ValidationError) -> InvalidInput:
    """The first problem of a pydantic error, as a 422 naming the field."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    msg = first["msg"].removeprefix("Value error, ")
    code = "unknown_field" if first["type"] == "extra_forbidden" else "invalid"
    return InvalidInput(f"{field}: {msg}" if field else msg, field=field, code=code)


# One decoder for every request (json.loads with options builds a new one each call).
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


async def read_object(request: web.Request) -> dict[str, Any] | None:
    """The request body as a JSON object (None if empty); 422 for anything that is not."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        data = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError too
        raise InvalidInput(f"the body is not valid JSON: {err}", code="malformed_json") from err
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="malformed_json")
    return data


FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def read_form(request: web.Request) -> dict[str, str]:
    """A plain HTML form's text fields (a body of any other kind counts as an empty form);
    422 ``malformed_form`` for one that cannot be read (a multipart body without its parts, a
    charset Python does not know): it answered 500 with a traceback before (issue #14)."""
    if request.content_type not in FORMS:
        return {}
    try:
        form = await request.post()
    except (ValueError, LookupError, AssertionError, HttpProcessingError) as err:
        # (aiohttp's multipart reader asserts on some malformed parts)
        raise InvalidInput("the form cannot be read", code="malformed_form") from err
    return {k: v for k, v in form.items() if isinstance(v, str)}


def no_body() -> InvalidInput:
    return InvalidInput("the request needs a JSON body", code="malformed_json")


async def read_model(request: web.Request, model: type[M], *, optional: bool = False) -> M:
    """The request body validated as ``model``; 422 for anything that is not."""
    data = await read_object(request)
    if data is None:
        if optional:
            return model()
        raise no_body()
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_error(err) from err


def json_text_answer(text: str, status: int = 200) -> web.Response:
    """JSON text already made, as a response."""
    return web.Response(text=text, status=status, content_type="application/json")


def json_answer(model: BaseModel, status: int = 200) -> web.Response:
    """A pydantic model as a JSON response."""
    return web.Response(
        body=model.model_dump_json(by_alias=True).encode(),  # bytes: gzip_large_json sizes them
        status=status,
        content_type="application/json",
    )


async def json_answer_off_loop(model: BaseModel, status: int = 200) -> web.Response:
    """``json_answer`` for answers that may be large (a card with every reward it was ever
    given): serialised in a worker thread, so the loop keeps serving meanwhile."""
    body = await asyncio.to_thread(model.model_dump_json, by_alias=True)
    return web.Response(body=body.encode(), status=status, content_type="application/json")


def make_errors_middleware(
    what: str,
    *,
    metrics: "web.AppKey[Any] | None" = None,
) -> Middleware:
    """Every error leaves as JSON: an ``ApiError`` (the one error base both apps raise) with its
    status and code; anything else unexpected is logged and answered 500 without details
    (``what`` names the service).

    With ``metrics``, every answer (errors too) is also timed and reported to
    ``app[metrics]`` (a ``RequestObserver``), in this one layer: the agent's order path pays
    for one middleware instead of two.
    """

    def answer_error(request: web.Request, err: Exception) -> web.Response:
        if isinstance(err, ApiError):
            return error_response(err.status, err.code, err.message, err.field, err.extra)
        if isinstance(err, RequestPayloadError | HttpProcessingError):
            # e.g. "Content-Encoding: gzip" over bytes that are not gzip: the sender's fault
            return error_response(
                400, "unreadable_body", "the body could not be read: bad encoding"
            )
        if isinstance(err, web.HTTPRequestEntityTooLarge):
            limit = request.app._client_max_size
            return error_response(413, "too_large", f"the body is larger than {limit} bytes")
        if isinstance(err, web.HTTPException):
            if err.status < 400:
                raise err
            code = (err.reason or "error").lower().replace(" ", "_")
            refusal = error_response(err.status, code, err.reason or "error")
            for name in ("Allow", "Retry-After"):  # 405 and 429 say what to do next
                if name in err.headers:
                    refusal.headers[name] = err.headers[name]
            return refusal
        log.exception("unexpected error on %s %s", request.method, request.path, exc_info=err)
        return error_response(500, "internal", f"the {what} hit an unexpected error; see its log")

    if metrics is None:

        @web.middleware
        async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
            try:
                resp: web.StreamResponse = await handler(request)
            except Exception as err:  # noqa: BLE001 - answered (or re-raised) there
                return answer_error(request, err)
            return resp

        return errors

    key = metrics

    @web.middleware
    async def errors_timed(request: web.Request, handler: Any) -> web.StreamResponse:
        start = time.perf_counter()
        try:
            resp: web.StreamResponse = await handler(request)
        except Exception as err:  # noqa: BLE001 - answered (or re-raised) there
            resp = answer_error(request, err)
        _observe(request, key, resp.status, start)
        return resp

    return errors_timed


class RequestObserver(Protocol):
    """Metrics that count requests and their latency per route."""

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None: ...


def metrics_middleware(key: "web.AppKey[Any]") -> Middleware:
    """Time every request and report it to ``app[key]`` under the route's pattern (never the
    raw path, so label values stay few)."""

    @web.middleware
    async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
        start = time.perf_counter()
        resp: web.StreamResponse = await handler(request)
        _observe(request, key, resp.status, start)
        return resp

    return timed


def _observe(request: web.Request, key: "web.AppKey[Any]", status: int, start: float) -> None:
    """Report one answered request under its route's pattern (never the raw path)."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    observer: RequestObserver = request.app[key]
    observer.observe_request(request.method, route, status, time.perf_counter() - start)
