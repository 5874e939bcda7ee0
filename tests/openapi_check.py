"""OpenAPI truth for both apps (issue #14): what an app's router serves against what its
``/openapi.json`` says, and a client generated from that document by ``openapi-python-client``
(the tool integrators use), imported as it came out: no hand edits."""

import asyncio
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def _sample(path: str) -> str:
    """The path template with every parameter filled (``1`` passes each route's pattern)."""
    return re.sub(r"\{[^}]+\}", "1", path)


async def route_gaps(app: web.Application, doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Routes the app serves that the document does not name, and operations the document
    names that no route serves (``HEAD`` is named by its ``GET``: aiohttp adds it to each)."""
    named: set[web.AbstractRoute] = set()
    unserved: list[str] = []
    for path, ops in doc["paths"].items():
        for method in ops:
            request = make_mocked_request(method.upper(), _sample(path), app=app)
            match = await app.router.resolve(request)
            if match.http_exception is not None:
                unserved.append(f"{method.upper()} {path}")
            else:
                named.add(match.route)
    unnamed: list[str] = []
    for route in app.router.routes():
        if route in named:
            continue
        if route.method == "HEAD" and any(
            r.method == "GET" and r.resource is route.resource for r in named
        ):
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        unnamed.append(f"{route.method} {info.get('formatter') or info.get('path')}")
    return sorted(unnamed), sorted(unserved)


def json_operations(doc: dict[str, Any]) -> set[str]:
    """The ``operationId`` of every operation that answers JSON on success, as the generator
    names its module (snake case)."""
    found = set()
    for ops in doc["paths"].values():
        for op in ops.values():
            for status, answer in op["responses"].items():
                if status.startswith("2") and "application/json" in answer.get("content", {}):
                    found.add(re.sub(r"[^a-z0-9]+", "_", op["operationId"].lower()))
    return found


def generate(doc: dict[str, Any], where: Path, package: str) -> tuple[ModuleType, str]:
    """Generate the client package ``package`` in ``where`` and import it; also the
    generator's report (blocking: call through ``asyncio.to_thread``)."""
    import json

    where.mkdir(parents=True, exist_ok=True)
    spec = where / f"{package}.json"
    spec.write_text(json.dumps(doc))
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(where / package)],
        capture_output=True, text=True, timeout=600, env=env, cwd=where, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    sys.path.insert(0, str(where))
    importlib.invalidate_caches()
    return importlib.import_module(package), run.stdout + run.stderr


def generated_functions(package: ModuleType) -> dict[str, ModuleType]:
    """Each generated endpoint module by its operation id (its module name)."""
    root = Path(package.__file__ or "").parent / "api"
    out = {}
    for file in root.glob("*/*.py"):
        if file.stem == "__init__":
            continue
        name = f"{package.__name__}.api.{file.parent.name}.{file.stem}"
        module = importlib.import_module(name)
        if hasattr(module, "asyncio_detailed"):
            out[file.stem] = module
    return out


def problems(report: str) -> list[str]:
    """The generator's complaints, but not about bodies that are not JSON (PDF, pkpass: a
    client takes those as bytes from the raw answer)."""
    blocks = report.split("WARNING parsing ")[1:]
    found = [b.splitlines()[0] for b in blocks if "Unsupported content_type" not in b]
    bad_lines = ("Unable to", "Attempted to generate duplicate", "Could not find reference")
    found += [line for line in report.splitlines() if line.startswith(bad_lines)]
    return found


async def httpx_client(base_url: str) -> httpx.AsyncClient:
    """An httpx client made off the loop (it loads the CA bundle from disk when made)."""
    return await asyncio.to_thread(httpx.AsyncClient, base_url=base_url, timeout=30)
