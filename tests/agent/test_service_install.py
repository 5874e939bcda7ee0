"""``stampedge service install|uninstall --root DIR``: units systemd accepts, udev rules for the
configured devices only, and files changed by hand are never replaced without ``--force``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import SECRET
from tests.conftest import REPO

UNITS = Path("etc/systemd/system")
HARDENING = ("Type=notify", "User=stampedge", "NoNewPrivileges=yes", "ProtectSystem=strict",
             "PrivateTmp=yes", "Restart=on-failure", "LimitNOFILE=8192", "TimeoutStopSec=30s",
             "StateDirectory=stampedge", "KillMode=mixed", "UMask=0077")  # fmt: skip


def _cli(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "service", *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    etc = tmp_path / "etc" / "stampedge"
    etc.mkdir(parents=True)
    agent = etc / "agent.toml"
    agent.write_text(
        '[agent]\ndata_dir = "/var/lib/stampedge/agent"\n'
        f'[cloud]\ndevice_secret = "{SECRET}"\n'
        '[printer]\nkind = "usb"\nvendor_id = 0x04b8\nproduct_id = 0x0e15\n'
        '[[scanner]]\nkind = "serial"\ndevice = "/dev/serial/by-id/usb-Honeywell_1900-if00"\n'
        '[[scanner]]\nkind = "hid"\ndevice = "/dev/input/by-id/usb-Datalogic-event-kbd"\n'
        '[[scanner]]\nkind = "tcp"\naddress = "10.0.0.9:9200"\n'
    )
    cloud = etc / "cloud.toml"
    cloud.write_text('[cloud]\ndatabase = "sqlite:////var/lib/stampedge/cloud.db"\n')
    return agent, cloud


def test_install_writes_units_systemd_accepts_and_rules_for_the_configured_devices_only(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    root = tmp_path / "root"
    done = _cli("install", "--config", str(configs[0]), "--cloud-config", str(configs[1]),
                "--root", str(root), "--user", "stampedge")  # fmt: skip
    assert done.returncode == 0, done.stderr
    agent = (root / UNITS / "stampedge-agent.service").read_text()
    cloud = (root / UNITS / "stampedge-cloud.service").read_text()
    for text in (agent, cloud):
        for line in HARDENING:
            assert f"\n{line}\n" in text, line
    assert f"--config {configs[0]}\n" in agent and "ReadWritePaths=/var/lib/stampedge" in agent
    assert "PrivateDevices=no" in agent and "PrivateDevices=yes" in cloud
    assert "AF_NETLINK" in agent and "AF_NETLINK" not in cloud  # libusb for the USB printer
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (apt-get install systemd; .ci/run does)")
    verify = subprocess.run(
        ["systemd-analyze", "verify", *(str(p) for p in sorted((root / UNITS).iterdir()))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verify.returncode == 0 and "stampedge" not in verify.stderr, verify.stderr
    rules = [
        ln
        for ln in (root / "etc/udev/rules.d/70-stampedge.rules").read_text().splitlines()
        if ln and not ln.startswith("#")
    ]
    assert rules == [
        'SUBSYSTEM=="tty", SYMLINK=="serial/by-id/usb-Honeywell_1900-if00", '
        'GROUP="stampedge", MODE="0660"',
        'SUBSYSTEM=="input", SYMLINK=="input/by-id/usb-Datalogic-event-kbd", '
        'GROUP="stampedge", MODE="0660"',
        'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="04b8", '
        'ATTR{idProduct}=="0e15", GROUP="stampedge", MODE="0660"',
    ]
    sysusers = (root / "usr/lib/sysusers.d/stampedge.conf").read_text()
    assert 'u stampedge - "Stampedge services" /var/lib/stampedge' in sysusers


def test_a_file_changed_by_hand_is_kept_unless_forced(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    root = tmp_path / "root"
    args = ("--config", str(configs[0]), "--root", str(root))
    assert _cli("install", *args).returncode == 0
    again = _cli("install", *args)  # unchanged files are simply written again
    assert again.returncode == 0, again.stderr
    unit = root / UNITS / "stampedge-agent.service"
    unit.write_text(unit.read_text().replace("LimitNOFILE=8192", "LimitNOFILE=65536"))
    refused = _cli("install", *args)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"stampedge: service install: {unit} changed since it was written; keep your changes "
        "elsewhere or pass --force to replace"
    ]
    assert "LimitNOFILE=65536" in unit.read_text()
    assert _cli("uninstall", "--root", str(root)).returncode == 2
    assert unit.exists()
    assert _cli("install", *args, "--force").returncode == 0
    assert "LimitNOFILE=8192" in unit.read_text()
    gone = _cli("uninstall", "--root", str(root))
    assert gone.returncode == 0, gone.stderr
    assert not unit.exists() and not (root / "etc/udev/rules.d/70-stampedge.rules").exists()


def test_without_devices_no_device_rule_and_no_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[cloud]\ndevice_secret = "{SECRET}"\n[printer]\nkind = "network"\n'
        '[[scanner]]\nkind = "tcp"\naddress = "10.0.0.9:9200"\n'
    )
    root = tmp_path / "root"
    assert _cli("install", "--config", str(config), "--root", str(root)).returncode == 0
    rules = (root / "etc/udev/rules.d/70-stampedge.rules").read_text().splitlines()
    assert [ln for ln in rules if ln and not ln.startswith("#")] == []
    nothing = _cli("install", "--root", str(root))
    assert nothing.returncode == 2 and nothing.stderr.startswith("stampedge: service install")


@pytest.mark.parametrize("kind", ["agent", "cloud"])
async def test_readiness_and_stop_are_told_to_systemd_over_notify_socket(
    tmp_path: Path, kind: str
) -> None:
    """Given NOTIFY_SOCKET (as systemd sets for Type=notify), when the process listens it sends
    READY=1 and its port answers at that moment; on SIGTERM it sends STOPPING=1 and exits 0."""
    import asyncio
    import signal
    import socket

    import aiohttp

    from tests.conftest import free_port

    port = free_port()
    config = tmp_path / f"{kind}.toml"
    if kind == "agent":
        config.write_text(f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n'
                          f'[cloud]\nurl = ""\ndevice_secret = "{SECRET}"\n')  # fmt: skip
    else:
        config.write_text(f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "sqlite:///c.db"\n')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", kind, "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO), "NOTIFY_SOCKET": str(tmp_path / "notify")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        ready = (await asyncio.to_thread(sock.recv, 4096)).decode()
        assert ready.startswith("READY=1\n") and f"MAINPID={proc.pid}" in ready
        assert f"STATUS=listening on 127.0.0.1:{port}" in ready
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/health") as resp,
        ):
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        stopping = (await asyncio.to_thread(sock.recv, 4096)).decode()
        assert stopping.startswith("STOPPING=1")
        _, err = await asyncio.to_thread(proc.communicate, timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


def test_a_config_path_with_a_space_and_percent_is_one_word_of_execstart(tmp_path: Path) -> None:
    import shlex

    folder = tmp_path / "Shop 1 (100%)"
    folder.mkdir()
    config = folder / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "/var/lib/stampedge/agent"\n'
                      f'[cloud]\ndevice_secret = "{SECRET}"\n')  # fmt: skip
    root = tmp_path / "root"
    assert _cli("install", "--config", str(config), "--root", str(root)).returncode == 0
    unit = root / UNITS / "stampedge-agent.service"
    [line] = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    words = shlex.split(line.removeprefix("ExecStart=").replace("%%", "%"))
    assert words[-2:] == ["--config", str(config)]
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert verify.returncode == 0 and "stampedge" not in verify.stderr, verify.stderr
