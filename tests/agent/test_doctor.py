"""``stampedge doctor``: a healthy till box passes; each broken part is named, exit code 1.

Real parts: the cloud app on a real port over a real SQLite store, the fake ESC/POS printer on
a real TCP port (it can report paper out), a serial scanner on a real pty.
"""

import json
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agent.doctor import Check, report, run_checks
from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from tests.conftest import REPO, free_port, no_blocking_calls
from tests.fakes.escpos_printer import TcpFakePrinter
from tests.fakes.scanner import PtyScanner


@dataclass
class Box:
    """A till box's parts and its config file."""

    config: Path
    printer: TcpFakePrinter
    scanner: PtyScanner
    cloud: TestServer
    skew: list[timedelta]
    link: dict[str, Any]

    def write(self, device_key: str | None = None) -> None:
        data = self.config.parent / "data"
        self.config.write_text(
            f'[agent]\nlisten = "127.0.0.1:{free_port()}"\ndata_dir = "data"\n'
            f'[cloud]\nurl = "http://127.0.0.1:{self.cloud.port}"\n'
            f'device_key = "{device_key or self.link["device_key"]}"\n'
            f'device_secret = "{self.link["device_secret"]}"\n'
            f'[printer]\nkind = "network"\naddress = "{self.printer.address}"\n'
            f'[[scanner]]\nname = "counter"\nkind = "serial"\ndevice = "{self.scanner.link}"\n'
        )
        data.mkdir(mode=0o700, exist_ok=True)


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[Box]:
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    link = await init_business(
        store, business="Cafe", branch="Main", rule="per_order", step=Decimal("10"), goal=8
    )
    settings = load_cloud_settings(None, {"cloud": {"database": f"sqlite:///{tmp_path / 'c.db'}"}})
    app = build_cloud_app(settings, store=store, rng=random.Random(7))
    skew: list[timedelta] = []

    async def date(request: web.Request, response: web.StreamResponse) -> None:
        if skew:  # the box's clock is off: seen from the box, the cloud's Date is off
            response.headers["Date"] = format_datetime(datetime.now(UTC) + skew[0], usegmt=True)

    app.on_response_prepare.append(date)
    cloud = TestServer(app, port=free_port())
    await cloud.start_server()
    printer = await TcpFakePrinter().start()
    scanner = PtyScanner(tmp_path / "ttyACM-scanner")
    b = Box(tmp_path / "etc" / "agent.toml", printer, scanner, cloud, skew, link)
    b.config.parent.mkdir()
    b.write()
    try:
        yield b
    finally:
        scanner.close()
        await printer.stop()
        await cloud.close()
        await store.close()


def _by_part(checks: list[Check]) -> dict[str, Check]:
    return {c.part: c for c in checks}


async def test_given_a_healthy_box_then_every_check_passes(box: Box) -> None:
    async with no_blocking_calls():  # files, devices and the database are looked at in threads
        checks = await run_checks(box.config)
    text, code = report(checks, as_json=False)
    assert code == 0, text
    parts = _by_part(checks)
    assert {"config", "data folder", "disk", "data owner", "database", "listen", "cloud", "clock",
            "device key", "printer", "scanner counter", "groups"} <= parts.keys()  # fmt: skip
    assert "program version" in parts["device key"].detail
    assert parts["printer"].detail.endswith("ready")
    assert text.splitlines()[-1] == "all good"


@pytest.mark.parametrize("broken", ["paper_out", "scanner_gone", "cloud_down", "wrong_key",
                                    "clock_skewed", "bad_config", "db_too_new"])  # fmt: skip
async def test_given_one_broken_part_then_doctor_names_it_and_fails(box: Box, broken: str) -> None:
    expected = {
        "paper_out": ("printer", "out of paper"),
        "scanner_gone": ("scanner counter", "is not there"),
        "cloud_down": ("cloud", "cannot be reached"),
        "wrong_key": ("device key", "refuses cloud.device_key"),
        "clock_skewed": ("clock", "behind the cloud"),
        "bad_config": ("config", "agent.listen"),
        "db_too_new": ("database", "this release knows up to"),
    }[broken]
    if broken == "paper_out":
        box.printer.mode = "paper_out"
    elif broken == "scanner_gone":
        box.scanner.unplug()
    elif broken == "cloud_down":
        await box.cloud.close()
    elif broken == "wrong_key":
        box.write(device_key="sk_1_notthekey")
    elif broken == "db_too_new":  # a rollback onto a file a later release wrote
        import sqlite3

        with sqlite3.connect(box.config.parent / "data" / "agent.db") as db:
            db.execute("PRAGMA user_version = 999")
    elif broken == "clock_skewed":
        box.skew.append(timedelta(minutes=10))
    else:
        box.config.write_text(box.config.read_text().replace("127.0.0.1:", "127.0.0.1:x", 1))
    checks = await run_checks(box.config)
    text, code = report(checks, as_json=False)
    assert code == 1
    failed = [c for c in checks if c.level == "fail"]
    assert [c.part for c in failed] == [expected[0]], text
    assert expected[1] in failed[0].detail and (failed[0].fix or broken == "bad_config")
    assert text.splitlines()[-1] == f"1 problem(s): {expected[0]}"


def _cli(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_json_and_exit_code(box: Box) -> None:
    """Given paper out, the command exits 1 and its JSON names the printer; --version answers."""
    box.printer.mode = "paper_out"
    import asyncio

    done = await asyncio.to_thread(_cli, "doctor", "--config", str(box.config), "--json")
    assert done.returncode == 1, done.stderr
    body = json.loads(done.stdout)
    assert body["ok"] is False
    assert [c["part"] for c in body["checks"] if c["level"] == "fail"] == ["printer"]
    assert "Traceback" not in done.stderr
    version = await asyncio.to_thread(_cli, "--version")
    assert version.returncode == 0 and version.stdout.startswith("stampedge ")


def test_a_device_the_user_may_not_open_is_named_with_its_group(tmp_path: Path) -> None:
    """Given a scanner node owned by root:root mode 0600 and an unprivileged service user, the
    scanner and group checks fail and say which group to join."""
    import pwd

    from agent.doctor import check_scanner
    from config import ScannerSettings

    node = tmp_path / "ttyACM9"
    node.write_bytes(b"")
    node.chmod(0o600)
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    if node.stat().st_uid == nobody.pw_uid:
        pytest.skip("running as nobody")
    [check] = check_scanner(ScannerSettings(kind="serial", device=str(node)), 0, nobody)
    assert check.level == "fail" and "may not read and write" in check.detail
    assert "usermod -aG" in check.fix


def test_for_another_user_the_data_folder_is_judged_by_that_users_rights(tmp_path: Path) -> None:
    """Given a data folder root owns (0700) and --user nobody, the folder check fails even
    though root, who runs doctor, could write it."""
    import pwd

    from agent.doctor import check_data_dir
    from config import load_agent_settings
    from tests.agent.conftest import SECRET

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    if os.getuid() == nobody.pw_uid:
        pytest.skip("running as nobody")
    (tmp_path / "data").mkdir(mode=0o700)
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "data"\n[cloud]\ndevice_secret = "{SECRET}"\n')
    checks = {c.part: c for c in check_data_dir(load_agent_settings(config), nobody)}
    assert (
        checks["data folder"].level == "fail"
        and "nobody may not write" in checks["data folder"].detail
    )
    assert checks["data owner"].level == "fail"
