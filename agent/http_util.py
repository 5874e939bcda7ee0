"""Reading JSON bodies strictly and answering errors as JSON, at the HTTP boundary."""

import json
import logging
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from agent.errors import AgentError, InvalidInput

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    """The one error shape: ``{"error": {"code", "message", "field"}}``."""
    return web.json_response(
        {"error": {"code": code, "message": message, "field": field}}, status=status
    )


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


async def read_model(request: web.Request, model: type[M], *, optional: bool = False) -> M:
    """The request body validated as ``model``; 422 for anything that is not."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise InvalidInput("the request needs a JSON body", code="malformed_json")
    try:
        data = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError too
        raise InvalidInput(f"the body is not valid JSON: {err}", code="malformed_json") from err
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_error(err) from err


def json_answer(model: BaseModel, status: int = 200) -> web.Response:
    """A pydantic model as a JSON response."""
    return web.Response(
        body=model.model_dump_json(by_alias=True),
        status=status,
        content_type="application/json",
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every error leaves as JSON; unexpected ones are logged and answered 500 without details."""
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except AgentError as err:
        return error_response(err.status, err.code, err.message, err.field)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size
        return error_response(413, "too_large", f"the body is larger than {limit} bytes")
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code = (err.reason or "error").lower().replace(" ", "_")
        return error_response(err.status, code, err.reason or "error")
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "the agent hit an unexpected error; see its log")
