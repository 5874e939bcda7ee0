"""An OpenAPI 3.1 document built from the pydantic models the handlers validate with."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

Body = type[BaseModel] | str | None  # a model, a media type such as "image/png", or no body


@dataclass(frozen=True)
class Operation:
    """One documented route."""

    method: str
    path: str
    summary: str
    responses: dict[int, Body]
    request: type[BaseModel] | None = None
    request_required: bool = True
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth: bool = True
    tags: tuple[str, ...] = ()
    form: tuple[str, ...] | None = None  # an HTML form's fields (urlencoded), if it takes one


def _path_params(path: str) -> list[dict[str, Any]]:
    # a template may share its segment with a suffix: ``/batch/{id}.pdf``
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{([^}:]+)(?::[^}]*)?\}", path)
    ]


def build_openapi(
    title: str, version: str, ops: list[Operation], *, bearer: bool, error_model: type[BaseModel]
) -> dict[str, Any]:
    """The document for ``ops``; every error status refers to ``error_model``."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(error_model, "serialization")]
    for op in ops:
        if op.request is not None:
            wanted.append((op.request, "validation"))
        for body in op.responses.values():
            if isinstance(body, type):
                wanted.append((body, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, defs = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        doc: dict[str, Any] = {"summary": op.summary, "operationId": _op_id(op)}
        if op.tags:
            doc["tags"] = list(op.tags)
        params = _path_params(op.path) + [
            {"name": k, "in": "query", **v} for k, v in op.query.items()
        ]
        if params:
            doc["parameters"] = params
        if op.request is not None:
            doc["requestBody"] = {
                "required": op.request_required,
                "content": {"application/json": {"schema": refs[(op.request, "validation")]}},
            }
        elif op.form is not None:
            fields = {name: {"type": "string"} for name in op.form}
            form = {"type": "object", "properties": fields}
            doc["requestBody"] = {
                "required": False,
                "content": {"application/x-www-form-urlencoded": {"schema": form}},
            }
        err_ref = refs[(error_model, "serialization")]
        doc["responses"] = {
            str(status): _response(status, body, refs) for status, body in op.responses.items()
        }
        for status, body in op.responses.items():
            if status >= 400 and isinstance(body, type) and body is not error_model:
                # an error status with its own body may still answer the common error shape
                schema = {"anyOf": [refs[(body, "serialization")], err_ref]}
                doc["responses"][str(status)]["content"]["application/json"]["schema"] = schema
        for status in (400, 413, 415, 422) if op.request or op.form is not None else (400,):
            doc["responses"].setdefault(str(status), _error(status, err_ref))
        # sync/web/guard.py: another site's browser (403), a name not ours (421); throttles
        # (sync/web/throttle.py) answer 429 with Retry-After where a guess is possible
        guard = (403, 421, 429) if op.method not in ("GET", "HEAD") else (421, 429)
        for status in guard:
            doc["responses"].setdefault(str(status), _error(status, err_ref))
        if op.auth and bearer:
            doc["security"] = [{"bearer": []}]
            doc["responses"].setdefault("401", _error(401, err_ref))
        paths.setdefault(op.path, {})[op.method.lower()] = doc
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": _titled(defs.get("$defs", {}))},
    }
    if bearer:
        out["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return out


def _titled(schemas: dict[str, Any]) -> dict[str, Any]:
    """Each schema titled by its own name: a model read and written differently is two schemas
    (``ProgramConfig-Input`` and ``-Output``) that pydantic both titles ``ProgramConfig``, and
    generated clients make one class per title (``openapi-python-client`` refused the spec)."""
    for name, schema in schemas.items():
        if "-" in name:
            schema["title"] = name.replace("-", "")
    return schemas


def _op_id(op: Operation) -> str:
    clean = op.path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    # ``/C/{token}`` beside ``/c/{token}``: generated clients fold case, so a capital says so
    clean = re.sub(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", lambda m: m[1].lower() + "_caps", clean)
    return f"{op.method.lower()}_{clean or 'root'}".replace(".", "_").replace("|", "_")


def _error(status: int, ref: dict[str, Any]) -> dict[str, Any]:
    return {"description": f"error {status}", "content": {"application/json": {"schema": ref}}}


def _response(
    status: int, body: Body, refs: Mapping[tuple[Any, JsonSchemaMode], Any]
) -> dict[str, Any]:
    if body is None:
        return {"description": str(status)}
    if isinstance(body, str):
        return {"description": str(status), "content": {body: {"schema": {"type": "string"}}}}
    return {
        "description": str(status),
        "content": {"application/json": {"schema": refs[(body, "serialization")]}},
    }
