"""Cloud store processes for tests: ``stampedge cloud init`` and ``stampedge cloud`` as real
subprocesses (``python -m agent.cli``) on a config file."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import REPO, free_port

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def write_config(home: Path, database: str, port: int | None = None) -> tuple[Path, int]:
    """A ``cloud.toml`` in ``home`` listening on a free port."""
    port = port or free_port()
    path = home / f"cloud-{port}.toml"
    path.write_text(
        f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "{database}"\n'
        f'public_url = "http://127.0.0.1:{port}"\n'
    )
    return path, port


def cloud_init(config: Path, *extra: str) -> dict[str, Any]:
    """Run ``stampedge cloud init`` and return its JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "agent.cli", "cloud", "init", "--config", str(config),
         "--business", "Fuzz Cafe", "--branch", "Main", "--rule", "by_amount", *extra],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class CloudProcess:
    """``stampedge cloud --config ...`` running until ``stop()``."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_fh = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "cloud", "--config", str(config)],
            env=ENV, stdout=self._log_fh, stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def wait_healthy(self) -> None:
        """Return once ``/health`` answers 200 (fail if the process exits first)."""
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise AssertionError(f"cloud exited: {self.log.read_text()[-2000:]}")
                try:
                    async with session.get(self.url + "/health") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("cloud did not become healthy")

    def stop(self) -> str:
        """Stop with SIGTERM and return the log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_fh.close()
        return self.log.read_text(errors="replace")
