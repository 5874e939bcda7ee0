"""Every JSON route of the agent driven with the largest inputs its contract allows (issue
#14: no handler may hold the event loop). Each answers as documented; how long each held the
loop is recorded (``tests/loop_hold.py``) as a diagnostic table in ``tests/artifacts``, never
asserted: a loaded machine times anything high."""

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from sync.contract.limits import EMAIL_MAX_LEN, MAX_TOTAL
from tests.loop_hold import recording
from tests.openapi_check import json_operations

ORDER_ID = "9" * 64
TILL = "T" * 64
EMAIL = "e" * (EMAIL_MAX_LEN - len("@example.com")) + "@example.com"


async def test_given_the_largest_valid_inputs_then_every_json_route_answers_and_holds_are_logged(
    agent: TestClient[Any, Any], artifacts_dir: Path
) -> None:
    driven: set[str] = set()
    doc = await (await agent.get("/openapi.json")).json()

    async def call(method: str, template: str, path: str, want: set[int], **kw: Any) -> Any:
        with rec.route(f"{method} {template}"):
            resp = await agent.request(method, path, **kw)
            body = await resp.read()
        assert resp.status in want, (method, path, resp.status, body[:500])
        driven.add(f"{method} {template}")
        return await resp.json() if body else None

    big = {"order_id": ORDER_ID, "total": str(MAX_TOTAL), "till": TILL, "receipt_qr": True}
    async with recording(artifacts_dir / "loop_hold_agent.txt") as rec:
        await call("GET", "/health", "/health", {200})
        await call("GET", "/openapi.json", "/openapi.json", {200})
        await call("POST", "/v1/orders/quote", "/v1/orders/quote", {200},
                   json={**big, "customer": {"email": EMAIL}})  # fmt: skip
        placed = await call("POST", "/v1/orders", "/v1/orders", {201}, json=big)
        assert placed["stamps"] > 0 and placed["claim"] is not None
        await call("POST", "/v1/orders", "/v1/orders", {201},
                   json={**big, "order_id": "8" * 64, "customer": {"email": EMAIL}})  # fmt: skip
        one = f"/v1/orders/{ORDER_ID}"
        at = {"till": TILL}
        await call("GET", "/v1/orders/{order_id}", one, {200}, params=at)
        await call("POST", "/v1/orders/{order_id}/reprint", one + "/reprint", {202, 409},
                   params=at)  # fmt: skip
        await call("POST", "/v1/print/test", "/v1/print/test", {202, 409})
        await call("GET", "/v1/print/{job_id}", "/v1/print/" + "j" * 64, {404})
        await call("POST", "/v1/print/{job_id}/retry", "/v1/print/" + "j" * 64 + "/retry", {404})
        await call("POST", "/v1/orders/{order_id}/void", one + "/void", {200}, params=at,
                   json={"reason": "r" * 200})  # fmt: skip
        await call("GET", "/v1/customers", f"/v1/customers?q={'q' * 254}", {200})
        await call("POST", "/v1/scans", "/v1/scans", {200, 422},
                   json={"code": "C" * 64, "till": TILL, "mode": "manual"})  # fmt: skip
        await call("POST", "/v1/rewards/{code}/redeem", "/v1/rewards/" + "R" * 32 + "/redeem",
                   {404, 503}, json={"order_id": ORDER_ID, "till": TILL})  # fmt: skip
    wanted = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op["operationId"].lower() in json_operations(doc):
                wanted.add(f"{method.upper()} {path}")
    assert len(wanted) >= 10 and wanted <= driven, sorted(wanted - driven)
