"""Pairing phones and tablets: a one-time code from the status page gives a device its own
revocable session, limited to its role's routes (a kiosk scans in kiosk mode only)."""

import sqlite3
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from agent.pages.pairing import MAX_TRIES, token_hash
from sync.contract.card_code import new_card_code
from tests.agent.conftest import AgentFactory
from tests.agent.pairing_helpers import device_headers, open_code, pair
from tests.fakes.scanner import eventually

CARD = new_card_code()


async def _scan(agent: TestClient[Any, Any], token: str, **body: Any) -> Any:
    return await agent.post("/v1/scans", json=body, headers=device_headers(token))


async def test_given_an_unpaired_device_then_the_pages_show_only_the_pairing_form(
    agent: TestClient[Any, Any],
) -> None:
    for path in ("/kiosk", "/staff"):
        resp = await agent.get(path)
        assert resp.status == 401
        html = await resp.text()
        assert '<form method="post" action="/pair">' in html
        assert "<video" not in html and "<a " not in html
    resp = await agent.post("/v1/scans", json={"code": CARD}, headers=device_headers("nope"))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "not_paired"


async def test_given_a_code_from_the_status_page_then_the_device_pairs_and_is_listed_hashed(
    agent: TestClient[Any, Any], tmp_data: Path
) -> None:
    token = await pair(agent, "kiosk", name="Door tablet")
    page = await agent.get("/kiosk", headers=device_headers(token))
    assert page.status == 200
    assert "<video" in await page.text()
    status = await (await agent.get("/")).text()
    assert "Door tablet" in status and "Unpair" in status
    assert 'id="pairing-code"' not in status  # one device per code
    with sqlite3.connect(tmp_data / "agent.db") as db:
        rows = db.execute("SELECT token_hash, role FROM device_sessions").fetchall()
    assert rows == [(token_hash(token), "kiosk")]
    assert token not in (tmp_data / "agent.db").read_bytes().decode("latin-1")


async def test_given_a_kiosk_session_then_it_scans_in_kiosk_mode_only(
    agent: TestClient[Any, Any],
) -> None:
    token = await pair(agent, "kiosk")
    refused = await _scan(agent, token, code=CARD, till="t1", mode="autopilot")
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "kiosk_only"
    refused = await _scan(agent, token, code=CARD, mode="manual")
    assert refused.status == 403
    stamped = await _scan(agent, token, code=CARD)
    assert stamped.status == 200 and (await stamped.json())["outcome"] == "stamped"
    again = await _scan(agent, token, code=CARD, mode="kiosk")
    assert again.status in (200, 429)  # a double read or the cooldown, never a second stamp
    assert (await again.json())["outcome"] in ("rejected", "throttled")
    staff_only = await agent.get("/v1/customers?q=x", headers=device_headers(token))
    assert staff_only.status == 403
    assert (await agent.get("/staff", headers=device_headers(token))).status == 401


async def test_given_a_revoked_session_then_its_cookie_is_refused_at_once(
    agent: TestClient[Any, Any],
) -> None:
    token = await pair(agent, "staff", name="Barista phone")
    assert (await agent.get("/staff", headers=device_headers(token))).status == 200
    status = await (await agent.get("/")).text()
    session_id = status.split('action="/pairing/sessions/')[1].split("/revoke")[0]
    resp = await agent.post(f"/pairing/sessions/{session_id}/revoke", allow_redirects=False)
    assert resp.status == 303
    page = await agent.get("/staff", headers=device_headers(token))
    assert page.status == 401 and "This device was unpaired" in await page.text()
    scan = await _scan(agent, token, code=CARD, mode="manual")
    assert scan.status == 401 and (await scan.json())["error"]["code"] == "device_revoked"
    assert "unpaired" in await (await agent.get("/")).text()


async def test_given_wrong_codes_then_the_code_burns_after_the_allowed_tries(
    agent: TestClient[Any, Any],
) -> None:
    code = await open_code(agent, "staff")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_TRIES):
        resp = await agent.post("/pair", data={"code": wrong}, allow_redirects=False)
        assert resp.status == 403
    resp = await agent.post("/pair", data={"code": code}, allow_redirects=False)
    assert resp.status == 403 and "No pairing code is open" in await resp.text()


async def test_given_a_token_then_a_device_passes_only_on_its_own_routes(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(agent={"token": "s3cret-token"})
    owner = {"Authorization": "Bearer s3cret-token"}
    resp = await agent.post(
        "/pairing/code", data={"role": "staff"}, headers=owner, allow_redirects=False
    )
    assert resp.status == 303
    assert (await agent.post("/pairing/code", data={"role": "staff"})).status == 401
    page = await (await agent.get("/", headers=owner)).text()
    code = page.split('id="pairing-code">')[1][:7].replace(" ", "")
    assert (await agent.get("/pair")).status == 200  # open: the device has no token
    resp = await agent.post("/pair", data={"code": code}, allow_redirects=False)
    token = resp.cookies["stampedge_device"].value
    cookie = device_headers(token)
    assert (await agent.get("/staff", headers=cookie)).status == 200
    assert (await agent.get("/static/staff.js")).status == 200
    found = await agent.get("/v1/customers?q=" + CARD, headers=cookie)
    assert found.status == 200
    stamped = await agent.post("/v1/scans", json={"code": CARD, "mode": "manual"}, headers=cookie)
    assert (await stamped.json())["outcome"] == "stamped"
    for path in ("/", "/metrics", "/v1/orders/x"):
        assert (await agent.get(path, headers=cookie)).status == 401, path
    assert (await agent.post("/v1/print/test", headers=cookie)).status == 401


async def test_given_a_staff_stamp_then_it_counts_for_that_device_and_starts_the_kiosk_cooldown(
    agent: TestClient[Any, Any],
) -> None:
    staff = await pair(agent, "staff", name="Till phone")
    kiosk = await pair(agent, "kiosk")
    first = await (await _scan(agent, staff, code=CARD, mode="manual", till="t1")).json()
    assert first["outcome"] == "stamped" and first["stamps"] == 1
    at_kiosk = await _scan(agent, kiosk, code=CARD)
    assert at_kiosk.status == 429 and (await at_kiosk.json())["reason"] == "cooldown"

    async def counted() -> bool:
        page = await (await agent.get("/")).text()
        row = next(r for r in page.split("<tr") if ">Till phone<" in r)
        return 'data-label="Scans"><span class="v">1</span>' in row

    await eventually(counted, what="the staff phone's scan on the status page")


async def test_given_the_pages_static_files_then_they_are_served_with_an_etag(
    agent: TestClient[Any, Any],
) -> None:
    resp = await agent.get("/static/jsQR.js")
    assert resp.status == 200 and resp.content_type == "text/javascript"
    assert "jsQR" in await resp.text()
    again = await agent.get("/static/jsQR.js", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    assert (await agent.get("/static/jsQR.LICENSE.txt")).status == 200
    for name in ("nope.js", "..%2Fpairing.py", "__init__.py"):
        assert (await agent.get(f"/static/{name}")).status == 404, name
