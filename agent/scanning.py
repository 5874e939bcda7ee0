"""The scanner channel inside the agent: ``POST /v1/scans`` and the scanner sources' lifecycle.

For now a scan is recorded with its kind; Autopilot and kiosk stamping come with the scanner issue.
"""

import time
import uuid

from aiohttp import web

from agent.handlers import Handler, add_routes
from agent.http_util import json_answer, read_model
from agent.models import ScanAnswer, ScanRequest
from agent.openapi import Operation
from agent.state import METRICS, OUTBOX
from drivers.card_code import is_card_code


async def post_scan(request: web.Request) -> web.StreamResponse:
    req = await read_model(request, ScanRequest)
    code = req.code.strip()
    kind = "card" if is_card_code(code) else "number" if code.isdigit() and len(code) == 6 else None
    answer = ScanAnswer(
        scan_id=uuid.uuid4().hex,
        outcome="recorded" if kind else "rejected",
        kind=kind,
        reason=None if kind else "not a card code or a six-digit card number",
    )
    await request.app[OUTBOX].write(
        [
            (
                "INSERT INTO scans (scan_id, code, kind, till, source, outcome, reason, "
                "created_at) VALUES (?, ?, ?, ?, 'api', ?, ?, ?)",
                (answer.scan_id, code, kind, req.till, answer.outcome, answer.reason, time.time()),
            )
        ]
    )
    request.app[METRICS].scans.labels(answer.outcome).inc()
    return json_answer(answer, 200 if kind else 422)


ROUTES: list[tuple[Operation, Handler]] = [
    (
        Operation(
            "POST",
            "/v1/scans",
            "A card scanned by staff or at a kiosk",
            {200: ScanAnswer, 422: ScanAnswer},
            request=ScanRequest,
            tags=("scans",),
        ),
        post_scan,
    ),
]


def install_scanners(app: web.Application) -> None:
    """Add ``POST /v1/scans`` and the scanner sources' lifecycle to the agent's app."""
    add_routes(app, ROUTES)
