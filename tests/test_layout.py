"""The layout holds: imports point downward (import-linter), the cloud loads no agent or device
code, and the cloud's extra alone installs a cloud that starts and answers."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

PACKAGES = ("agent", "sync", "printers", "drivers", "config")
UPPER = ("agent", "printers", "drivers", "sync.edge")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SKIP_ON_COPY = shutil.ignore_patterns(
    ".venv", ".git", "var", "__pycache__", "*.egg-info", "build", ".*_cache"
)


def _loaded_from_ours(importtime_stderr: str) -> set[str]:
    """Module names of ours in ``python -X importtime`` output (``import time: a | b | name``)."""
    names = {line.rsplit("|", 1)[-1].strip() for line in importtime_stderr.splitlines()}
    return {n for n in names if n.split(".")[0] in PACKAGES}


def _copy_tree(dest: Path) -> Path:
    """A copy of the project's packages and pyproject.toml in ``dest``."""
    for name in PACKAGES:
        shutil.copytree(REPO / name, dest / name, ignore=SKIP_ON_COPY)
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    shutil.copy(REPO / "README.md", dest / "README.md")
    return dest


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("where", "imports"),
    [
        ("sync/cloud", "agent.http.app"),  # the cloud never imports the agent
        ("sync/cloud", "sync.edge.backoff"),  # nor the agent's end of sync (siblings)
        ("sync/cloud", "printers.receipt"),  # nor device libraries
        ("printers", "sync.cloud.store"),  # devices know nothing of sync
        ("sync/web", "sync.cloud.app"),  # the shared HTTP bits sit below both apps
        ("sync/contract", "config"),  # the contract is the bottom layer
    ],
)
def test_given_a_module_that_imports_upward_then_lint_imports_fails_naming_it(
    tmp_path: Path, where: str, imports: str
) -> None:
    """Given a copy of the tree with one module importing against the rule, when lint-imports
    runs with the project's contract, then it fails and names that import."""
    tree = _copy_tree(tmp_path)
    offender = tree / where / "offending_import.py"
    offender.write_text(f'"""Imports against the rule."""\n\nimport {imports}  # noqa: F401\n')
    module = where.replace("/", ".") + ".offending_import"

    out = _lint_imports(tree)

    assert out.returncode != 0
    assert f"{module} -> {imports}" in out.stdout, out.stdout[-3000:]
    # Without the offender the same import is not reported: the failure is the offender's.
    offender.unlink()
    assert f"{module} -> " not in _lint_imports(tree).stdout


def test_given_the_cloud_app_when_imported_then_no_agent_or_device_module_loads() -> None:
    """``python -X importtime -c 'import sync.cloud.app'`` loads nothing from agent, printers,
    drivers or sync.edge."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sync.cloud.app"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    loaded = _loaded_from_ours(out.stderr)
    assert "sync.cloud.app" in loaded
    upward = sorted(n for n in loaded if any(n == u or n.startswith(u + ".") for u in UPPER))
    assert upward == []


def test_given_the_cloud_command_when_parsed_then_only_the_cli_module_of_agent_loads() -> None:
    """``stampedge cloud`` imports its own part only: of ``agent`` just the CLI entry point,
    nothing of printers, drivers or sync.edge."""
    code = (
        "import sys\n"
        "from agent.cli import build_parser\n"
        "argv = ['cloud', '--config', 'cloud.toml']\n"
        "build_parser(argv).parse_args(argv)\n"
        "print('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
        check=True,
    )  # fmt: skip
    loaded = {n for n in out.stdout.split() if n.split(".")[0] in PACKAGES}
    assert "sync.cloud.cli" in loaded
    upward = sorted(n for n in loaded if any(n == u or n.startswith(u + ".") for u in UPPER))
    assert upward == ["agent", "agent.cli"]


def _get_json(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


@pytest.mark.slow
def test_given_only_the_cloud_extra_installed_then_stampedge_cloud_starts_and_answers_health(
    tmp_path: Path,
) -> None:
    """Given a fresh venv with ``pip install '.[cloud]'`` from a copy of the repo, then no
    device library is installed, ``stampedge cloud`` answers ``/health``, and the agent's
    commands (which need its database library) say in one line which extra they need."""
    src = _copy_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{src}[cloud]"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"stampedge", "aiohttp", "asyncpg", "pydantic-settings"} <= installed
    device_libs = {"aiosqlite", "python-escpos", "pyserial", "pyserial-asyncio-fast", "pyusb"}
    assert installed & (device_libs | {"evdev"}) == set()
    # Pillow comes with reportlab (the batches' print-ready PDF, issue #20); the cloud's own
    # code still never imports PIL (the "no device libraries" import contract checks that)
    assert "reportlab" in installed

    port = free_port()
    config = tmp_path / "cloud.toml"
    config.write_text(
        f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "sqlite:///{tmp_path / "cloud.db"}"\n'
        f'public_url = "http://127.0.0.1:{port}"\n'
    )
    stampedge = str(venv / "bin" / "stampedge")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    log = tmp_path / "cloud.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [stampedge, "cloud", "--config", str(config)], cwd=tmp_path, env=env,
            stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        answer: tuple[int, dict[str, object]] | None = None
        for _ in range(1200):  # a deadline for a hung start, not a speed check
            if proc.poll() is not None:
                pytest.fail(f"cloud exited: {log.read_text()[-3000:]}")
            try:
                answer = _get_json(f"http://127.0.0.1:{port}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        assert answer is not None, log.read_text()[-3000:]
        assert answer[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()[-3000:]

    agent_config = tmp_path / "agent.toml"
    agent_config.write_text("")
    for argv in (["agent", "--config", str(agent_config)], ["queue", "status"]):
        out = subprocess.run(
            [stampedge, *argv], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "stampedge[agent]" in lines[0], out.stderr
