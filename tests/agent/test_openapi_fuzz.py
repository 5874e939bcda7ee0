"""Schemathesis against the agent's own ``/openapi.json``: no 5xx, no answer off its schema."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import SECRET
from tests.agent.test_kill9 import wait_healthy
from tests.conftest import REPO, free_port

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_and_no_schema_break(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[cloud]\nurl = ""\ndevice_key = "sk_3_x"\ndevice_secret = "{SECRET}"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    agent = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "agent", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, agent)
        st = Path(sys.executable).parent / "st"
        proc = subprocess.run(
            [
                str(st),
                "run",
                f"{url}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "40",
                "--seed",
                "7",
                "--workers",
                "2",
                "--phases",
                "examples,coverage,fuzzing",
                "--generation-database",
                "none",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=tmp_path,
        )
    finally:
        agent.terminate()
        _, err = agent.communicate(timeout=30)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # aiohttp itself logs malformed HTTP it answered 400; only our own handlers' crashes count.
    assert "unexpected error on" not in err.decode(errors="replace")
