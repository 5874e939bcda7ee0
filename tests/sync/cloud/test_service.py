"""The service around the store, on both backends: the claim page a phone opens (/c and /C),
figures per day in the branch's time zone and per device, health, metrics, OpenAPI, and the
``stampedge cloud`` command."""

import asyncio
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from config import load_agent_settings
from sync.cloud.errors import Unauthorized
from sync.cloud.store import open_store
from sync.cloud.store.schema import migrations
from tests.clock import START
from tests.sync.cloud.conftest import Cloud, event, order, qr_issued
from tests.sync.cloud.procs import ENV, CloudProcess, cloud_init, write_config


async def test_given_a_receipt_qr_url_then_the_page_offers_and_the_button_claims(
    cloud: Cloud,
) -> None:
    await cloud.post_events([qr_issued("P-1", 2, START + timedelta(days=1))])
    token = cloud.token("P-1", 2)
    for path in (f"/C/{token}", f"/c/{token.lower()}"):
        page = await cloud.http.get(path)
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]
        assert 'id="claim"' in await page.text()
    # POST-redirect-GET: the answer is a page a refresh only reloads
    done = await cloud.http.post(f"/C/{token}", allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == f"/C/{token}"
    html = await (await cloud.http.get(f"/C/{token}")).text()
    assert 'id="balance"' in html and "2" in html
    assert "stampedge_card" in done.cookies
    card_code, _, sig = done.cookies["stampedge_card"].value.partition(".")  # signed: code.sig
    assert sig == await cloud.card_sig(card_code)
    # the next receipt lands on the card the phone remembers
    await cloud.post_events([qr_issued("P-2", 3, START + timedelta(days=1))])
    again = await cloud.http.post(f"/C/{cloud.token('P-2', 3)}")
    assert again.status == 200 and 'id="balance"' in await again.text()
    assert (await cloud.card(card_code))["balance"] == 5
    used = await cloud.http.get(f"/C/{token}")
    assert used.status == 409 and 'data-problem="already_claimed"' in await used.text()
    refused = await cloud.http.post(f"/C/{token}")
    assert refused.status == 409 and 'data-problem="already_claimed"' in await refused.text()
    await cloud.post_events([qr_issued("P-3", 1, START + timedelta(days=1))])
    await cloud.post_events([event("order.voided", {"order_id": "P-3"})])
    voided = await cloud.http.get(f"/C/{cloud.token('P-3', 1)}")
    assert voided.status == 410 and 'data-problem="voided"' in await voided.text()
    other = "AB" if token.endswith("AA") else "AA"  # (a token ends in AA once in 1,024)
    forged = await cloud.http.get(f"/C/{token[:-2]}{other}")
    assert forged.status == 404 and 'data-problem="invalid"' in await forged.text()


async def test_given_activity_then_stats_count_per_local_day_and_per_device(cloud: Cloud) -> None:
    resp = await cloud.http.post("/v1/branches", headers=cloud.admin(),
                                 json={"name": "Tokyo", "timezone": "Asia/Tokyo"})  # fmt: skip
    branch = (await resp.json())["branch_id"]
    resp = await cloud.http.post("/v1/devices", headers=cloud.admin(),
                                 json={"branch_id": branch, "label": "front"})  # fmt: skip
    key = (await resp.json())["device_key"]
    c = await cloud.customer("tz@example.com")
    # 12:00 UTC is 21:00 in Tokyo on the 23rd; 16:00 UTC is 01:00 on the 24th
    await cloud.post_events([event("order.stamped", order("K-1", 2, {"card": c["card_code"]})),
                             qr_issued("K-2", 1, START + timedelta(days=2))], key=key)  # fmt: skip
    cloud.clock.advance(hours=4)
    await cloud.post_events([event("order.stamped", order("K-3", 9, {"card": c["card_code"]})),
                             event("order.voided", {"order_id": "K-1"})], key=key)  # fmt: skip
    resp = await cloud.http.get(
        "/v1/stats",
        headers=cloud.admin(),
        params={"branch": branch, "from": "2026-11-23", "to": "2026-11-24"},
    )
    assert resp.status == 200, await resp.text()
    stats = await resp.json()
    assert stats["timezone"] == "Asia/Tokyo" and stats["from"] == "2026-11-23"
    day1, day2 = stats["days"]
    assert (day1["day"], day1["orders"], day1["stamps"], day1["qr_issued"]) == (
        "2026-11-23",
        2,
        2,
        1,
    )
    assert (day2["orders"], day2["stamps"], day2["voids"], day2["rewards_issued"]) == (1, 9, 1, 1)
    assert stats["total"]["orders"] == 3
    [device] = stats["devices"]
    assert device["label"] == "front" and device["total"]["stamps"] == 11
    listed = await (await cloud.http.get("/v1/branches", headers=cloud.admin())).json()
    assert [b["name"] for b in listed["branches"]] == ["Main", "Tokyo"]
    own = await (await cloud.http.get("/v1/branches", headers=cloud.device(key))).json()
    assert [b["branch_id"] for b in own["branches"]] == [branch]
    mine = await cloud.http.get("/v1/stats", headers=cloud.device(key),
                                params={"from": "2026-11-24", "to": "2026-11-24"})  # fmt: skip
    assert [d["orders"] for d in (await mine.json())["days"]] == [1]
    for bad in (
        {"from": "2026-11-25", "to": "2026-11-24"},
        {"from": "yesterday"},
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"branch": "x"},
        {"to": "0001-01-01"},
    ):
        resp = await cloud.http.get("/v1/stats", headers=cloud.admin(), params=bad)
        assert resp.status == 422, bad


async def test_health_metrics_and_openapi(cloud: Cloud) -> None:
    health = await (await cloud.http.get("/health")).json()
    assert health["status"] == "ok" and health["schema_version"] == len(
        migrations(cloud.store.dialect)
    )
    await cloud.post_events([event("order.recorded", order("M-1"))])
    await cloud.http.post(f"/v1/claims/{cloud.token('nope', 1, secret='x' * 20)}")
    text = await (await cloud.http.get("/metrics")).text()
    assert 'stampedge_cloud_events_total{status="applied"} 1.0' in text
    assert 'stampedge_cloud_claims_total{outcome="invalid"} 1.0' in text
    assert (
        'stampedge_cloud_http_requests_total{method="POST",route="/v1/sync/events",status="200"}'
        in text
    )
    assert "stampedge_cloud_http_request_duration_seconds_bucket" in text
    doc = await (await cloud.http.get("/openapi.json")).json()
    assert {"/v1/sync/events", "/v1/claims/{token}", "/v1/stats"} <= set(doc["paths"])
    assert {"/v1/vouchers", "/v1/vouchers/batch", "/v1/vouchers/batch/{id}.pdf",
            "/v1/vouchers/batch/{id}.csv", "/v1/vouchers/batch/{id}.escpos",
            "/v1/plan"} <= set(doc["paths"])  # fmt: skip


async def test_cli_init_writes_a_loadable_agent_config_and_serve_answers(tmp_path: Path) -> None:
    config, port = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    agent_toml = tmp_path / "agent.toml"
    link = cloud_init(config, "--step", "5", "--goal", "8", "--write-agent-config", str(agent_toml))
    assert set(link) >= {"business_id", "branch_id", "admin_key", "device_key", "device_secret"}
    assert link["device_key"].startswith(f"sk_{link['device_id']}_")
    assert link["admin_key"].startswith(f"ak_{link['business_id']}_")
    assert agent_toml.stat().st_mode & 0o777 == 0o600
    settings = await asyncio.to_thread(load_agent_settings, agent_toml)  # read off the loop
    assert settings.cloud.device_id == link["device_id"]
    assert settings.cloud.url == f"http://127.0.0.1:{port}" and settings.program.goal == 8
    argv = [sys.executable, "-m", "agent.cli", "cloud", "init", "--config", str(config)]
    bad = subprocess.run([*argv, "--business", "B"], capture_output=True, text=True, env=ENV)
    assert bad.returncode == 2 and "--branch" in bad.stderr and len(bad.stderr.splitlines()) == 1
    cloud = CloudProcess(config, port, tmp_path / "cloud.log")
    try:
        await cloud.wait_healthy()
    finally:
        log = cloud.stop()
    assert link["device_secret"] not in log and link["admin_key"] not in log
    assert json.dumps(link)  # the printed JSON round-trips


async def test_cli_rotate_admin_key_replaces_a_lost_key(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    link = cloud_init(config)
    argv = [sys.executable, "-m", "agent.cli", "cloud", "rotate-admin-key", "--config", str(config)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*argv, *args], capture_output=True, text=True, env=ENV,
                              timeout=60, check=False)  # fmt: skip

    done = run("--business-id", str(link["business_id"]))
    assert done.returncode == 0, done.stderr
    new = json.loads(done.stdout)
    assert new["business_id"] == link["business_id"]
    assert new["admin_key"].startswith(f"ak_{link['business_id']}_")
    store = await open_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert (await store.authenticate(new["admin_key"])).kind == "admin"
        with pytest.raises(Unauthorized):
            await store.authenticate(link["admin_key"])
        assert (await store.authenticate(link["device_key"])).kind == "device"
    finally:
        await store.close()
    wrong = [(("--business-id", "999"), "no business 999"), ((), "--business-id"),
             (("--business-id", "-1"), "--business-id")]  # fmt: skip
    for args, words in wrong:
        bad = run(*args)
        assert bad.returncode == 2 and words in bad.stderr, bad.stderr
        assert len(bad.stderr.splitlines()) == 1
