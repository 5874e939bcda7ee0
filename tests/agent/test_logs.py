"""Logs: the level from the config, JSON lines with the order and event ids as fields, and an
access log that never shows a key (agent and cloud as real processes)."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from sync.web.logs import redact
from tests.agent.conftest import SECRET
from tests.agent.test_kill9 import wait_healthy
from tests.conftest import REPO, free_port
from tests.sync.cloud.procs import cloud_init, write_config

TOKEN = "tok-very-secret-1"
KEY = "sk_9_keyverysecret"


def _start(kind: str, config: Path) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, "-m", "agent.cli", kind, "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _stop(proc: "subprocess.Popen[bytes]") -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.to_thread(proc.communicate, timeout=60)
    return err.decode()


def _agent_config(tmp_path: Path, port: int, level: str) -> Path:
    config = tmp_path / f"agent-{level}.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "d"\nlog_json = true\n'
        f'log_level = "{level}"\nlog_access = true\ntoken = "{TOKEN}"\n'
        f'[cloud]\nurl = ""\ndevice_key = "{KEY}"\ndevice_secret = "{SECRET}"\n'
    )
    return config


async def test_agent_json_logs_carry_order_and_event_ids_and_no_key(tmp_path: Path) -> None:
    port = free_port()
    proc = _start("agent", _agent_config(tmp_path, port, "debug"))
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, proc)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=auth) as session:
            body = {"order_id": "J-1", "total": "10", "till": "till-2"}
            async with session.post(url + "/v1/orders", json=body) as resp:
                assert resp.status == 201
                claim = (await resp.json())["claim"]["url"]
            async with session.get(url + f"/v1/customers?q={KEY}&token={TOKEN}") as resp:
                assert resp.status in (200, 503)
    finally:
        err = await _stop(proc)
    lines = [json.loads(ln) for ln in err.splitlines()]
    [order] = [ln for ln in lines if ln.get("order_id") == "J-1"]
    assert order["level"] == "debug" and order["till"] == "till-2"
    assert len(order["event_id"]) == 36  # the outbox event's id
    access = [ln for ln in lines if ln["logger"] == "stampedge.access"]
    assert {"method": "POST", "path": "/v1/orders", "status": 201}.items() <= access[-2].items()
    assert access[-1]["path"] == "/v1/customers?q=…&token=…"
    token = claim.rsplit("/", 1)[1]
    for secret in (TOKEN, KEY, "keyverysecret", SECRET, token):
        assert secret not in err


async def test_the_level_comes_from_the_config(tmp_path: Path) -> None:
    port = free_port()
    proc = _start("agent", _agent_config(tmp_path, port, "warning"))
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        err = await _stop(proc)
    assert "agent database at" not in err and "no cloud.url" in err  # info gone, warning kept
    levels = {(json.loads(ln)["logger"], json.loads(ln)["level"]) for ln in err.splitlines()}
    # the access log was asked for (log_access): its lines stay, at info
    assert {lv for name, lv in levels if name != "stampedge.access"} <= {"warning", "error"}


async def test_cloud_access_log_shows_no_key_or_claim_token(tmp_path: Path) -> None:
    config, port = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    link = cloud_init(config)
    config.write_text(config.read_text() + "log_access = true\nlog_json = true\n")
    proc = _start("cloud", config)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, proc)
        async with aiohttp.ClientSession() as session:
            device = {"Authorization": f"Bearer {link['device_key']}"}
            async with session.get(url + "/v1/sync/state?cursor=0", headers=device) as resp:
                assert resp.status == 200
            async with session.get(url + "/c/AEAAAAAHSECRETTOKEN") as resp:
                assert resp.status < 500
            wrong = f"/v1/sync/state?key={link['admin_key']}"
            async with session.get(url + wrong) as resp:
                assert resp.status == 401
    finally:
        err = await _stop(proc)
    paths = [json.loads(ln).get("path") for ln in err.splitlines()]
    assert (
        "/v1/sync/state?cursor=…" in paths and "/c/…" in paths and "/v1/sync/state?key=…" in paths
    )
    for secret in (link["device_key"], link["admin_key"], "SECRETTOKEN"):
        assert secret not in err


def test_redact() -> None:
    assert redact("/card/ABC123/sigsigsig/pass.pkpass") == "/card/ABC123/…/pass.pkpass"
    assert redact("/C/AEAAAAAH") == "/C/…"
    assert redact("/v1/rewards/RW-1234/redeem") == "/v1/rewards/…/redeem"
    assert redact("/x/sk_1_abc-def/y") == "/x/sk_…/y"
    assert redact("/v1/customers", "q=ann%40example.com&limit=5") == "/v1/customers?q=…&limit=…"
