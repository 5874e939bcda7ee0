"""``stampedge service install|uninstall``: the agent and cloud as hardened systemd services.

Writes, under ``--root`` (``/`` by default; another folder for packagers and tests):

- ``etc/systemd/system/stampedge-agent.service`` (with ``--config``) and
  ``stampedge-cloud.service`` (with ``--cloud-config``): their own system user, ``Type=notify``
  (the process says READY once it listens, ``sync/web/sd_notify.py``), a stop that waits for the
  last group commit, ``Restart=on-failure`` and the sandbox below;
- ``etc/udev/rules.d/70-stampedge.rules``: the configured scanners (serial, HID event devices)
  and the USB or serial printer given to the service user's group, and no other device;
- ``usr/lib/sysusers.d/stampedge.conf`` and ``usr/lib/tmpfiles.d/stampedge.conf``, so a package
  can create the user and folders the systemd way.

On the real root, as root, it also creates the user and the folders (owner-only) and reloads
systemd and udev. Every file starts with a header holding the hash of what was written: a file
changed by hand since is never overwritten or removed without ``--force``.
"""

import argparse
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from config import AgentSettings, CloudSettings, ConfigError, load_agent_settings
from config.loader import load_cloud_settings

HEADER = "# Written by stampedge service install; edit with care (sha256 {digest})\n"
UNIT_DIR = Path("etc/systemd/system")
UDEV_RULES = Path("etc/udev/rules.d/70-stampedge.rules")
SYSUSERS = Path("usr/lib/sysusers.d/stampedge.conf")
TMPFILES = Path("usr/lib/tmpfiles.d/stampedge.conf")
STATE_DIR = Path("/var/lib/stampedge")
CONFIG_DIR = Path("/etc/stampedge")
# Above the agent's and cloud's own connection limits (they keep a reserve under this) plus
# the database, devices and the uploader's sockets.
LIMIT_NOFILE = 8192
# The agent's stop: stop taking requests, let the group commit in flight reach the disk, close.
TIMEOUT_STOP_S = 30


@dataclass(frozen=True)
class Planned:
    """One file to write: where (relative to the root) and what."""

    path: Path
    text: str
    mode: int = 0o644


def stamped(body: str) -> str:
    """``body`` with the header that lets a later run tell whether it was changed by hand."""
    return HEADER.format(digest=hashlib.sha256(body.encode()).hexdigest()) + body


def untouched(text: str) -> bool:
    """True if ``text`` is a file this command wrote and nobody changed since."""
    first, _, body = text.partition("\n")
    prefix = HEADER.split("{")[0]
    if not first.startswith(prefix):
        return False
    return first.endswith(f"{hashlib.sha256(body.encode()).hexdigest()})")


def systemd_word(text: str) -> str:
    """One word of a unit's command line: ``%`` doubled (a specifier otherwise), quoted when
    it holds spaces or quotes."""
    text = text.replace("%", "%%")
    if any(c in text for c in " \t\"'\\"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def exec_start(kind: str, config: Path) -> str:
    """The command line systemd runs: this installation's ``stampedge`` script."""
    script = Path(sys.executable).with_name("stampedge")
    words = [str(script)] if script.exists() else [sys.executable, "-m", "agent.cli"]
    return " ".join(systemd_word(w) for w in [*words, kind, "--config", str(config)])


def _protect_home(command: str) -> str:
    # ProtectHome=yes would hide an interpreter installed under a home folder.
    return "read-only" if command.startswith(("/home/", "/root/")) else "yes"


def unit(
    kind: str,
    config: Path,
    user: str,
    read_write: list[Path],
    *,
    address_families: str = "AF_UNIX AF_INET AF_INET6",
    devices: bool = False,
) -> str:
    """The ``.service`` text for ``stampedge agent`` or ``stampedge cloud``."""
    command = exec_start(kind, config)
    what = "edge agent (loyalty stamps at the till)" if kind == "agent" else "cloud store"
    paths = " ".join(sorted({str(STATE_DIR), *(str(p) for p in read_write)}))
    return f"""[Unit]
Description=Stampedge {what}
Documentation=man:systemd.exec(5)
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={command}
User={user}
Group={user}
WorkingDirectory={STATE_DIR}
StateDirectory=stampedge
StateDirectoryMode=0700
ConfigurationDirectory=stampedge
ConfigurationDirectoryMode=0750
UMask=0077
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec=2s
TimeoutStartSec=60s
# SIGTERM: the process stops taking requests and finishes the group commit in flight.
KillMode=mixed
TimeoutStopSec={TIMEOUT_STOP_S}s
LimitNOFILE={LIMIT_NOFILE}
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={paths}
ProtectHome={_protect_home(command)}
PrivateTmp=yes
PrivateDevices={"no" if devices else "yes"}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies={address_families}
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
"""


def _udev_match(device: str) -> tuple[str, str]:
    """(kind of match, udev match keys) for a device path, by its stable name when it has one."""
    path = device.removeprefix("/dev/")
    if path.startswith(("serial/by-id/", "serial/by-path/", "input/by-id/", "input/by-path/")):
        return "link", f'SYMLINK=="{path}"'
    return "kernel", f'KERNEL=="{Path(path).name}"'


def udev_rules(settings: AgentSettings, group: str) -> str:
    """Rules giving ``group`` the configured scanners and printer, and nothing else."""
    lines = [
        "# The devices in the agent's config, for the stampedge service's group only.",
        "# Name devices by /dev/serial/by-id/... or /dev/input/by-id/... in the config: a",
        "# kernel name such as ttyACM0 can change after a reboot or a replug.",
    ]
    grant = f'GROUP="{group}", MODE="0660"'
    for s in settings.scanner:
        if s.kind == "tcp":
            continue
        subsystem = "tty" if s.kind == "serial" else "input"
        _, match = _udev_match(s.device)
        lines.append(f"# scanner {s.name or s.device} ({s.kind}, {s.till})")
        lines.append(f'SUBSYSTEM=="{subsystem}", {match}, {grant}')
    p = settings.printer
    if p.kind == "serial":
        _, match = _udev_match(p.device)
        lines.append(f"# receipt printer on {p.device}")
        lines.append(f'SUBSYSTEM=="tty", {match}, {grant}')
    elif p.kind == "usb":
        lines.append(f"# receipt printer usb {p.vendor_id:04x}:{p.product_id:04x} (libusb)")
        lines.append(
            f'SUBSYSTEM=="usb", ENV{{DEVTYPE}}=="usb_device", ATTR{{idVendor}}=="'
            f'{p.vendor_id:04x}", ATTR{{idProduct}}=="{p.product_id:04x}", {grant}'
        )
    return "\n".join(lines) + "\n"


def plan(
    agent_config: Path | None, cloud_config: Path | None, user: str
) -> tuple[list[Planned], list[Path]]:
    """The files to write and the folders the services write to."""
    files: list[Planned] = []
    folders: list[Path] = []
    if agent_config is not None:
        agent = load_agent_settings(agent_config)
        rw = [agent.agent.data_dir]
        if agent.printer.kind == "file":
            rw.append(agent.printer.path)
        folders += rw
        families = "AF_UNIX AF_INET AF_INET6" + (
            " AF_NETLINK" if agent.printer.kind == "usb" else ""
        )
        files.append(Planned(
            UNIT_DIR / "stampedge-agent.service",
            unit("agent", agent_config, user, rw, address_families=families, devices=True),
        ))  # fmt: skip
        files.append(Planned(UDEV_RULES, udev_rules(agent, user)))
    if cloud_config is not None:
        cloud = load_cloud_settings(cloud_config)
        rw = _cloud_paths(cloud)
        folders += rw
        files.append(
            Planned(UNIT_DIR / "stampedge-cloud.service", unit("cloud", cloud_config, user, rw))
        )
    if not files:
        raise ConfigError("service install needs --config agent.toml and/or --cloud-config")
    files.append(Planned(
        SYSUSERS, f"u {user} - \"Stampedge services\" {STATE_DIR} /usr/sbin/nologin\n"
    ))  # fmt: skip
    files.append(Planned(
        TMPFILES, f"d {STATE_DIR} 0700 {user} {user} -\nd {CONFIG_DIR} 0750 root {user} -\n"
    ))  # fmt: skip
    return files, folders


def _cloud_paths(cloud: CloudSettings) -> list[Path]:
    url = cloud.cloud.database
    if url.startswith("sqlite:///"):
        return [Path(url.removeprefix("sqlite:///")).parent]
    return []


def write_files(root: Path, files: list[Planned], *, force: bool) -> list[Path]:
    """Write each file under ``root``; refuse, before writing any, to replace one changed."""
    changed = [
        root / f.path
        for f in files
        if (root / f.path).exists()
        and (root / f.path).read_text() != stamped(f.text)
        and not untouched((root / f.path).read_text())
    ]
    if changed and not force:
        raise ConfigError(
            f"service install: {', '.join(map(str, changed))} changed since it was written; "
            "keep your changes elsewhere or pass --force to replace"
        )
    written = []
    for f in files:
        target = root / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(stamped(f.text))
        tmp.chmod(f.mode)
        tmp.replace(target)
        written.append(target)
    return written


def remove_files(root: Path, paths: list[Path], *, force: bool) -> list[Path]:
    """Remove the files this command wrote; refuse for one changed by hand without ``force``."""
    present = [root / p for p in paths if (root / p).exists()]
    changed = [p for p in present if not untouched(p.read_text())]
    if changed and not force:
        raise ConfigError(
            f"service uninstall: {', '.join(map(str, changed))} changed since it was written; "
            "pass --force to remove anyway"
        )
    for p in present:
        p.unlink()
    return present


def _system_setup(user: str, folders: list[Path]) -> list[str]:
    """On the real root: the system user, owner-only folders, systemd and udev reloaded."""
    done = []
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        nologin = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [useradd, "--system", "--user-group", "--home-dir", str(STATE_DIR),
             "--no-create-home", "--shell", nologin, user],
            check=True,
        )  # fmt: skip
        pw = pwd.getpwnam(user)
        done.append(f"created system user {user}")
    for folder in [STATE_DIR, *folders]:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        folder.chmod(0o700)
    CONFIG_DIR.mkdir(mode=0o750, exist_ok=True)
    return done + _reload()


def _reload() -> list[str]:
    """systemd and udev read the files again (where they run)."""
    done = []
    for tool in (["systemctl", "daemon-reload"], ["udevadm", "control", "--reload"]):
        exe = shutil.which(tool[0])
        if exe is not None:
            subprocess.run([exe, *tool[1:]], check=False)  # noqa: S603
            done.append(" ".join(tool))
    return done


def main(args: argparse.Namespace) -> int:
    """Run ``service install`` or ``service uninstall`` and say what was done."""
    root: Path = args.root
    agent_config = args.config.resolve() if args.config else None
    cloud_config = args.cloud_config.resolve() if args.cloud_config else None
    if args.action == "uninstall":
        paths = [
            UNIT_DIR / "stampedge-agent.service",
            UNIT_DIR / "stampedge-cloud.service",
            UDEV_RULES,
            SYSUSERS,
            TMPFILES,
        ]
        for p in remove_files(root, paths, force=args.force):
            print(f"removed {p}")
        if root.resolve() == Path("/") and os.geteuid() == 0:
            for line in _reload():
                print(line)
        print(f"left in place: {STATE_DIR} (the data) and the user {args.user}")
        return 0
    files, folders = plan(agent_config, cloud_config, args.user)
    for p in write_files(root, files, force=args.force):
        print(f"wrote {p}")
    if root.resolve() == Path("/") and os.geteuid() == 0:
        for line in _system_setup(args.user, folders):
            print(line)
    names = [f.path.name for f in files if f.path.suffix == ".service"]
    print(f"next: systemctl enable --now {' '.join(names)}; stampedge doctor --config ...")
    return 0
