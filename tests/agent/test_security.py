"""Attacks on the agent as a hostile page in the till PC's browser (or a guesser on the LAN)
would run them, against a real agent on a real port over a real SQLite file."""

import asyncio
import logging
import os
import resource
import socket
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from sync.contract.claim_token import verify
from sync.contract.limits import MAX_STAMPS_PER_CHECK
from sync.web.serve import AcceptErrorLog
from tests.agent.conftest import SECRET, AgentFactory
from tests.conftest import REPO, free_port

Client = TestClient[Any, Any]
ORDER = {"order_id": "X-1", "total": "20"}
EVIL = "https://evil.example"


async def _recorded(agent: Client, order_id: str) -> bool:
    return (await agent.get(f"/v1/orders/{order_id}")).status == 200


async def test_given_a_text_plain_body_from_a_page_then_415_and_no_check(agent: Client) -> None:
    """A cross-site form or fetch can send ``text/plain`` without a preflight: never read."""
    raw = '{"order_id": "X-1", "total": "20"}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        resp = await agent.post("/v1/orders", data=raw, headers={"Content-Type": ctype})
        assert resp.status == 415, ctype
        assert (await resp.json())["error"]["code"] == "unsupported_media_type"
    assert not await _recorded(agent, "X-1")
    ok = await agent.post("/v1/orders", json=ORDER)
    assert ok.status == 201


async def test_given_another_sites_origin_then_state_changes_are_refused(agent: Client) -> None:
    """Given a check, when a page of another site (or a sandboxed ``null`` one, or a fetch
    marked cross-site) tries to record, void or test-print, then 403 and nothing changes."""
    assert (await agent.post("/v1/orders", json=ORDER)).status == 201
    hostile = [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},  # another local port
    ]
    for headers in hostile:
        for path, body in [("/v1/orders", {"order_id": "X-2", "total": "5"}),
                           ("/v1/orders/X-1/void", {}), ("/v1/print/test", {})]:  # fmt: skip
            resp = await agent.post(path, json=body, headers=headers)
            assert resp.status == 403, (headers, path, await resp.text())
            assert (await resp.json())["error"]["code"] == "cross_origin"
            assert "Access-Control-Allow-Origin" not in resp.headers
    view = await (await agent.get("/v1/orders/X-1")).json()
    assert view["void"] is None and not await _recorded(agent, "X-2")
    # the agent's own pages (same origin) and a POS (no browser headers) still pass
    own = str(agent.make_url("")).rstrip("/")
    same = {"Origin": own, "Sec-Fetch-Site": "same-origin"}
    resp = await agent.post("/v1/orders", json={"order_id": "X-3", "total": "1"}, headers=same)
    assert resp.status == 201


async def test_given_an_allowed_origin_then_cors_and_private_network_are_answered(
    make_agent: AgentFactory,
) -> None:
    """A browser-based till on an allowed origin can call the agent on purpose."""
    till = "https://till.example.com"
    agent = await make_agent(agent={"allowed_origins": [till + "/"]})
    pre = {"Origin": till, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type",
           "Access-Control-Request-Private-Network": "true"}  # fmt: skip
    resp = await agent.options("/v1/orders", headers=pre)
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == till
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    resp = await agent.post("/v1/orders", json=ORDER, headers={"Origin": till})
    assert resp.status == 201 and resp.headers["Access-Control-Allow-Origin"] == till
    # any other origin gets no permission, preflight or not
    refused = await agent.options("/v1/orders", headers={**pre, "Origin": EVIL})
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Private-Network" not in refused.headers
    read = await agent.get("/v1/orders/X-1", headers={"Origin": EVIL})
    assert "Access-Control-Allow-Origin" not in read.headers


async def test_given_a_rebinding_host_name_then_421_and_no_customer_data(
    make_agent: AgentFactory,
) -> None:
    """DNS rebinding: ``evil.example`` resolving to 127.0.0.1 makes the page same-origin with
    the agent; the ``Host`` header still says ``evil.example``."""
    agent = await make_agent(agent={"allowed_hosts": ["till-pc.local"]})
    port = agent.port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        resp = await agent.get("/v1/customers?q=a", headers={"Host": host})
        assert resp.status == 421, host
        assert (await resp.json())["error"]["code"] == "misdirected_request"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "till-pc.local",
                 f"TILL-PC.local:{port}", "192.168.1.20"):  # fmt: skip
        resp = await agent.get("/v1/customers?q=a", headers={"Host": host})
        assert resp.status == 200, host


async def test_given_a_token_then_the_sign_in_form_refuses_other_sites(
    make_agent: AgentFactory,
) -> None:
    """Login CSRF: another site cannot post the sign-in form (and so plant its session)."""
    agent = await make_agent(agent={"token": "shop-secret-42"})
    form = {"token": "shop-secret-42"}
    resp = await agent.post("/login", data=form, headers={"Origin": EVIL}, allow_redirects=False)
    assert resp.status == 403 and "stampedge_agent" not in resp.cookies
    own = str(agent.make_url("")).rstrip("/")
    resp = await agent.post("/login", data=form, headers={"Origin": own}, allow_redirects=False)
    assert resp.status == 303 and "stampedge_agent" in resp.cookies


async def test_given_a_huge_total_then_the_stamps_stop_at_the_shared_cap(
    make_agent: AgentFactory,
) -> None:
    """A check of 1e9 under 1 stamp per EUR 10 once minted a QR worth 65,535 stamps; the agent
    now stops at ``MAX_STAMPS_PER_CHECK`` (or the program's own, lower, cap), QR included."""
    agent = await make_agent()
    resp = await agent.post("/v1/orders", json={"order_id": "H-1", "total": "1000000000"})
    body = await resp.json()
    assert resp.status == 201 and body["stamps"] == MAX_STAMPS_PER_CHECK
    token = body["claim"]["url"].rsplit("/", 1)[1]
    claim = verify(token, secret=SECRET, now=datetime.now(UTC))
    assert claim.stamps == MAX_STAMPS_PER_CHECK
    capped = await make_agent(program={"max_stamps_per_order": 20})
    resp = await capped.post("/v1/orders", json={"order_id": "H-2", "total": "99999"})
    assert (await resp.json())["stamps"] == 20


async def test_given_a_guesser_on_the_lan_then_tokens_and_numbers_are_throttled(
    make_agent: AgentFactory,
) -> None:
    """Wrong agent tokens (header or sign-in form) and customer numbers that find nobody are
    counted per client: 429 with Retry-After, then even the right token is refused."""
    agent = await make_agent(agent={"token": "shop-secret-42"})
    for i in range(1, 101):
        resp = await agent.get("/v1/customers?q=a", headers={"Authorization": f"Bearer x{i}"})
        if resp.status == 429:
            break
        assert resp.status == 401
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1 and i <= 25
    auth = {"Authorization": "Bearer shop-secret-42"}
    assert (await agent.get("/v1/customers?q=a", headers=auth)).status == 429
    lookups = await make_agent()
    for i in range(1, 201):
        resp = await lookups.get(f"/v1/customers?q={100000 + i}")
        if resp.status == 429:
            break
        assert resp.status == 200 and (await resp.json())["customers"] == []
    assert resp.status == 429 and 50 <= i <= 65


async def test_given_a_new_data_folder_then_agent_db_and_its_wal_are_private(
    make_agent: AgentFactory, tmp_path: Path
) -> None:
    """Names and emails in agent.db were world-readable: now 0600 files in a 0700 folder."""
    data = tmp_path / "fresh" / "agent"
    agent = await make_agent(agent={"data_dir": str(data)})
    assert (await agent.post("/v1/orders", json=ORDER)).status == 201
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(data.parent.stat().st_mode) == 0o700
    files = [p for p in data.iterdir() if p.name.startswith("agent.db")]
    assert {p.name for p in files} >= {"agent.db", "agent.db-wal", "agent.db-shm"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def _few_descriptors() -> None:
    """In the agent's process: a descriptor limit like systemd's, only smaller."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))


FD_LIMIT = 200


async def test_given_more_idle_sockets_than_descriptors_then_a_pos_order_still_answers(
    tmp_path: Path,
) -> None:
    """1,100 idle sockets under a 1,024 limit once made every POS order time out: here 400
    idle sockets against an agent limited to 200 descriptors, then a POS order."""
    from tests.agent.test_kill9 import wait_healthy

    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "d"}"\n'
        f'[cloud]\nurl = ""\ndevice_key = "sk_9_k"\ndevice_secret = "{SECRET}"\n'
    )
    log = tmp_path / "agent.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "agent", "--config", str(config)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_few_descriptors,
        )
    idle: list[socket.socket] = []
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, proc)
        for _ in range(2 * FD_LIMIT):
            try:
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        assert len(idle) > FD_LIMIT  # accepted and then closed by the agent, not refused
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url + "/v1/orders", json=ORDER) as resp:
                assert resp.status == 201
            async with session.get(url + "/health") as resp:
                assert resp.status == 200
    finally:
        for s in idle:
            s.close()
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and len(text) < 20_000, text[-2000:]


def test_given_accept_failing_in_a_loop_then_one_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """asyncio reports every failed accept(); the agent logs one line a minute, no traceback."""
    now = [0.0]
    handler = AcceptErrorLog(clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        context = {"message": "socket.accept() out of system resource",
                   "exception": OSError(24, "Too many open files")}  # fmt: skip
        with caplog.at_level(logging.ERROR, logger="sync.web.serve"):
            for i in range(1000):
                now[0] = i * 0.01
                handler(loop, dict(context))
            now[0] = 61.0
            handler(loop, dict(context))
    finally:
        loop.close()
    records = [r for r in caplog.records if r.name == "sync.web.serve"]
    assert len(records) == 2 and all(r.exc_info is None for r in records)
    assert "999 more" in records[1].getMessage()


async def test_given_text_the_cloud_would_refuse_then_the_agent_refuses_it_first(
    agent: Client,
) -> None:
    """A NUL in ``till`` was acknowledged to the POS and then refused by the cloud (the check
    never counted); digits that are not ASCII read as numbers. Both ends share one check."""
    bad = [
        {"order_id": "N-1", "total": "10", "till": "till\u00001"},
        {"order_id": "N-2", "total": "10", "till": "a\tb"},
        {"order_id": "N-3", "total": "\u0661\u0662"},  # Arabic-Indic 12
        {"order_id": "N-4", "total": "\uff11\uff10"},  # full-width 10
        {"order_id": "N-5", "total": "1_000"},
        {"order_id": "N-6", "total": " 12"},
        {"order_id": "N-7", "total": "10", "customer": {"number": "\u0661" * 6}},
    ]
    for body in bad:
        resp = await agent.post("/v1/orders", json=body)
        assert resp.status == 422, (body, await resp.text())
        assert not await _recorded(agent, body["order_id"])


async def test_given_http_manners_then_the_agent_answers_like_a_careful_server(
    make_agent: AgentFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Invalid gzip is a 400 in JSON (was 500 with a traceback); a control character after a
    bearer key never puts the key in the log; HEAD on GET routes; Allow on 405; pages carry
    nosniff, a strict CSP with frame-ancestors 'none' and no-store; Server names no version;
    /health says when the disk is nearly full."""
    caplog.set_level(logging.DEBUG)
    agent = await make_agent(agent={"token": "tok-very-secret-1", "min_free_disk_mb": 10**9})
    auth = {"Authorization": "Bearer tok-very-secret-1"}
    gz = {**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    resp = await agent.post("/v1/orders", data=b"not gzip", headers=gz)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unreadable_body"
    reader, writer = await asyncio.open_connection("127.0.0.1", agent.port)
    with caplog.at_level(logging.DEBUG):
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Authorization: Bearer tok-very-secret-1\x01\r\n\r\n")  # fmt: skip
        await writer.drain()
        answer = await reader.read(4096)
        writer.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b"400 Bad Request")
    assert "tok-very-secret-1" not in caplog.text
    head = await agent.head("/v1/customers?q=a", headers=auth)
    assert head.status == 200 and await head.read() == b""
    wrong = await agent.patch("/v1/orders", json={}, headers=auth)
    assert wrong.status == 405 and "POST" in wrong.headers["Allow"]
    page = await agent.get("/", headers=auth)
    assert page.status == 200
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Server"] == "stampedge"
    health = await (await agent.get("/health")).json()
    assert health["status"] == "degraded" and health["disk"]["state"] == "low"
    assert "Traceback" not in caplog.text
