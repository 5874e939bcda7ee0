"""Every JSON route of the cloud driven with the largest inputs its contract allows (issue
#14: no handler may hold the event loop), on SQLite and PostgreSQL. Each answers as documented;
how long each held the loop is recorded (``tests/loop_hold.py``) as a diagnostic table in
``tests/artifacts``, never asserted: a loaded machine times anything high."""

import uuid
from typing import Any

from sync.contract import claim_token
from sync.contract.limits import EMAIL_MAX_LEN, MAX_BATCH, MAX_STAMPS_PER_CHECK
from tests.clock import START
from tests.loop_hold import recording
from tests.openapi_check import json_operations
from tests.sync.cloud.conftest import Cloud, card_sig
from tests.sync.cloud.test_poster_webhook import ACCOUNT, SECRET, webhook

BIG_EMAIL = "e" * (EMAIL_MAX_LEN - len("@example.com") - 4) + "{n:04d}@example.com"
NAME = "N" * 100


async def test_given_the_largest_valid_inputs_then_every_json_route_answers_and_holds_are_logged(
    cloud: Cloud, artifacts_dir: Any, store_url: str
) -> None:
    http, admin = cloud.http, cloud.admin()
    device = cloud.device()
    driven: set[str] = set()
    doc = await (await http.get("/openapi.json")).json()
    backend = "sqlite" if store_url.startswith("sqlite") else "postgresql"

    async def call(method: str, template: str, path: str, want: int, **kw: Any) -> Any:
        with rec.route(f"{method} {template}"):
            resp = await http.request(method, path, **kw)
            body = await resp.read()
        assert resp.status == want, (method, path, resp.status, body[:500])
        driven.add(f"{method.lower()}_{template}")
        return await resp.json() if body else None

    async with recording(artifacts_dir / f"loop_hold_cloud_{backend}.txt") as rec:
        await call("GET", "/health", "/health", 200)
        await call("GET", "/openapi.json", "/openapi.json", 200)
        program = {"rule": "per_order", "stamps_per_order": MAX_STAMPS_PER_CHECK, "goal": 10}
        branch = await call("POST", "/v1/branches", "/v1/branches", 201, headers=admin,
                            json={"name": NAME, "program": program})  # fmt: skip
        await call("GET", "/v1/branches", "/v1/branches", 200, headers=admin)
        main = cloud.link["branch_id"]
        await call("PUT", "/v1/branches/{id}/program", f"/v1/branches/{main}/program", 200,
                   headers=admin, json=program)  # fmt: skip
        made = await call("POST", "/v1/customers", "/v1/customers", 201, headers=admin,
                          json={"email": BIG_EMAIL.format(n=0), "name": NAME})  # fmt: skip
        card = made["card_code"]
        await call("GET", "/v1/customers", f"/v1/customers?q={'e' * 200}", 200, headers=admin)
        # a full batch of checks, each worth the most stamps a check may carry, to one card:
        # every check reaches the goal fifty times over
        events = [
            {"id": str(uuid.uuid4()), "type": "order.stamped", "device_time": START.isoformat(),
             "payload": {"order_id": f"{'9' * 60}{n:04d}", "total": "999999999.99",
                         "currency": "EUR", "stamps": MAX_STAMPS_PER_CHECK, "rule": "per_order",
                         "till": "T" * 64, "customer": {"card": card}}}
            for n in range(MAX_BATCH)
        ]  # fmt: skip
        sent = await call("POST", "/v1/sync/events", "/v1/sync/events", 200, headers=device,
                          json={"events": events})  # fmt: skip
        assert {r["status"] for r in sent["results"]} == {"applied"}
        await call("GET", "/v1/sync/state", "/v1/sync/state", 200, headers=device)
        await call("GET", "/v1/sync/card", f"/v1/sync/card?card={card}", 200, headers=device)
        seen = await call("GET", "/v1/cards/{card_code}", f"/v1/cards/{card}", 200,
                          headers=admin)  # fmt: skip
        codes = [r["code"] for r in seen["rewards"]]
        await call("POST", "/v1/stamps", "/v1/stamps", 201, headers=admin,
                   json={"order_id": "A" * 64, "total": "1000000000",
                         "customer": {"card": card}})  # fmt: skip
        token, _ = claim_token.mint(
            secret=cloud.link["device_secret"], device_id=cloud.link["device_id"],
            order_id="Q" * 64, stamps=MAX_STAMPS_PER_CHECK, now=cloud.clock.now, ttl_hours=720,
        )  # fmt: skip
        await call("POST", "/v1/claims/{token}", f"/v1/claims/{token}", 201,
                   json={"email": BIG_EMAIL.format(n=1), "name": NAME})  # fmt: skip
        await call("POST", "/v1/rewards/{code}/redeem", f"/v1/rewards/{codes[0]}/redeem", 200,
                   headers=device, json={"order_id": "R" * 64, "till": "T" * 64})  # fmt: skip
        await call("POST", "/v1/vouchers/{code}/redeem", f"/v1/vouchers/{codes[1]}/redeem", 200,
                   headers=admin, json={"till": "T" * 64})  # fmt: skip
        new = await call("POST", "/v1/devices", "/v1/devices", 201, headers=admin,
                         json={"branch_id": branch["branch_id"], "label": NAME})  # fmt: skip
        await call("GET", "/v1/devices", "/v1/devices", 200, headers=admin)
        await call("DELETE", "/v1/devices/{id}", f"/v1/devices/{new['device_id']}", 200,
                   headers=admin)  # fmt: skip
        await call("GET", "/v1/stats", "/v1/stats?from=2026-01-01&to=2026-12-31", 200,
                   headers=admin)  # fmt: skip
        voucher = await call("POST", "/v1/vouchers", "/v1/vouchers", 201, headers=admin,
                             json={"kind": "stamps", "stamps": 50, "title": "T" * 80})  # fmt: skip
        await call("POST", "/v1/vouchers/batch", "/v1/vouchers/batch", 201, headers=admin,
                   json={"count": MAX_BATCH, "kind": "stamps", "stamps": 50, "title": "T" * 80,
                         "valid_days": 3650})  # fmt: skip
        await call("GET", "/v1/vouchers/batch", "/v1/vouchers/batch", 200, headers=admin)
        insert = voucher["codes"][0]["code"]
        await call("POST", "/v1/inserts/{code}", f"/v1/inserts/{insert}", 201,
                   json={"card_code": card})  # fmt: skip
        await call("GET", "/v1/plan", "/v1/plan", 200, headers=admin)
        await call("PUT", "/v1/integrations/poster", "/v1/integrations/poster", 200,
                   headers=admin, json={"account": ACCOUNT, "secret": SECRET})  # fmt: skip
        await call("GET", "/v1/integrations/poster", "/v1/integrations/poster", 200,
                   headers=admin)  # fmt: skip
        hook = f"/integrations/poster/{cloud.link['business_id']}/webhook"
        await call("POST", "/integrations/poster/{business_id}/webhook", hook, 200,
                   json=webhook(7, obj="client", data="x" * 1000))  # fmt: skip
        cid = made["customer_id"]
        await call("GET", "/v1/customers/{id}/export", f"/v1/customers/{cid}/export", 200,
                   headers=admin)  # fmt: skip
        # the customer's own download: the card's cookie, its email verified (the owner's)
        http.session.cookie_jar.update_cookies(
            {"stampedge_card": f"{card}.{await card_sig(cloud.store, card)}"}
        )
        await call("POST", "/card/export", "/card/export", 200)
        other = await call("POST", "/v1/customers", "/v1/customers", 201, headers=admin,
                           json={"name": NAME})  # fmt: skip
        await call("POST", "/v1/cards/{card_code}/merge",
                   f"/v1/cards/{other['card_code']}/merge", 200, headers=admin,
                   json={"into": card})  # fmt: skip
        await call("DELETE", "/v1/customers/{id}", f"/v1/customers/{cid}", 200, headers=admin)
        await call("POST", "/v1/admin-key", "/v1/admin-key", 201, headers=admin)
    wanted = {op.replace("{", "").replace("}", "") for op in json_operations(doc)}
    got = {d.replace("/", "_").replace("{", "").replace("}", "").replace("-", "_")
           .replace(".", "_").replace("__", "_") for d in driven}  # fmt: skip
    assert wanted <= got, sorted(wanted - got)
