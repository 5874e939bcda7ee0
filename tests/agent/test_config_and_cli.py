"""Configuration and the CLI: clear one-line errors, env precedence, loopback and token rules."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from config import ConfigError, load_agent_settings
from tests.agent.conftest import SECRET, AgentFactory

REPO = Path(__file__).resolve().parents[2]


def test_the_example_files_load() -> None:
    settings = load_agent_settings(
        REPO / "config" / "agent.example.toml", {"cloud": {"device_secret": SECRET}}
    )
    assert settings.agent.listen == "127.0.0.1:8787" and settings.program.rule == "by_amount"


def test_env_beats_file_and_overrides_beat_env(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(f'[agent]\nlisten = "127.0.0.1:9001"\n[cloud]\ndevice_secret = "{SECRET}"\n')
    monkeypatch.setenv("STAMPEDGE_AGENT__LISTEN", "127.0.0.1:9002")
    assert load_agent_settings(path).agent.port == 9002
    assert load_agent_settings(path, {"agent": {"listen": "127.0.0.1:9003"}}).agent.port == 9003


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[agent]\nlisten = "nonsense"\n', "agent.listen"),
        ('[agent]\nlisten = "0.0.0.0:8787"\n', "agent.token"),
        ('[program]\nstep = "-1"\n', "program.step"),
        ('[program]\nrule = "sometimes"\n', "program.rule"),
        ("[agent]\nlisten = \n", "not valid TOML"),
        ('[agent]\nlistne = "127.0.0.1:1"\n', "agent.listne"),
        ('[agent]\nmode = "receipt_qr"\n[cloud]\ndevice_secret = "short"\n', "cloud.device_secret"),
    ],
)
def test_a_bad_file_stops_start_up_with_one_line_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    path = tmp_path / "agent.toml"
    if "device_secret" not in text:
        text += f'[cloud]\ndevice_secret = "{SECRET}"\n' if "[cloud]" not in text else ""
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_agent_settings(path)
    assert key in str(err.value) and "\n" not in str(err.value)


def test_cli_exits_non_zero_with_the_line_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[agent]\nlisten = "10.0.0.5:8787"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli", "agent", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert "agent.token" in proc.stderr and proc.stderr.count("\n") == 1
    assert main(["agent", "--config", str(tmp_path / "missing.toml")]) == 2


async def test_given_a_token_then_every_route_but_health_needs_the_bearer(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(agent={"listen": "0.0.0.0:8787", "token": "till-token-123"})
    order = {"order_id": "T-1", "total": "5"}
    refused = await agent.post("/v1/orders", json=order)
    wrong = await agent.post("/v1/orders", json=order, headers={"Authorization": "Bearer nope"})
    good = await agent.post(
        "/v1/orders", json=order, headers={"Authorization": "Bearer till-token-123"}
    )
    assert (refused.status, wrong.status, good.status) == (401, 401, 201)
    assert (await refused.json())["error"]["code"] == "unauthorized"
    assert (await agent.get("/health")).status == 200
    assert (await agent.get("/")).status == 401
    assert (await agent.get("/metrics")).status == 401


async def test_queue_cli_lists_and_shows_status_as_json(
    make_agent: AgentFactory, tmp_data: Path, capsys: Any
) -> None:
    agent = await make_agent()
    await agent.post("/v1/orders", json={"order_id": "Q-1", "total": "10"})
    await agent.close()
    config = tmp_data.parent / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_data}"\n[cloud]\ndevice_secret = "{SECRET}"\n')
    import json

    assert (
        await asyncio.to_thread(main, ["queue", "status", "--config", str(config), "--json"]) == 0
    )
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == 1
    assert await asyncio.to_thread(main, ["queue", "list", "--config", str(config), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["type"] == "receipt_qr.issued" and rows[0]["state"] == "pending"
    assert await asyncio.to_thread(main, ["queue", "dead", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


async def test_json_logs_on_request_and_no_secret_in_them(tmp_path: Path) -> None:
    import aiohttp

    from tests.agent.test_kill9 import wait_healthy
    from tests.conftest import free_port

    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "d"}"\n'
        'log_json = true\ntoken = "tok-very-secret-1"\n'
        f'[cloud]\nurl = ""\ndevice_key = "sk_9_keyverysecret"\ndevice_secret = "{SECRET}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "agent", "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, proc)
        async with aiohttp.ClientSession() as session:
            auth = {"Authorization": "Bearer tok-very-secret-1"}
            async with session.post(
                url + "/v1/orders", json={"order_id": "J-1", "total": "10"}, headers=auth
            ) as resp:
                assert resp.status == 201
            bad = {**auth, "Content-Type": "application/json"}  # a JSON body, broken
            async with session.post(url + "/v1/orders", data=b"{", headers=bad) as resp:
                assert resp.status == 422
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    import json

    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)
    text = err.decode()
    for secret in (SECRET, "tok-very-secret-1", "keyverysecret"):
        assert secret not in text
