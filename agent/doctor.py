"""``stampedge doctor --config agent.toml [--json]``: is this till box set up to work?

Each check gives one line: ``ok``, ``warn`` or ``FAIL``, what was found and, when something is
wrong, what to do. The config, the data folder (writable, free space, owner), the database's
schema, the listen port, the clock against the cloud's ``Date``, the cloud (reachable, device
key accepted, program version), the printer (reachable, DLE EOT status, paper), each scanner
(present, permission, exclusive grab) and the service user's groups. The exit code is 1 when
any check failed. With ``--user`` the folder and devices are judged by that user's rights.
It only looks: nothing is written but a probe file in the data folder, removed at once.
"""

import asyncio
import contextlib
import errno
import grp
import json
import os
import pwd
import shutil
import socket
import sqlite3
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal

import aiohttp

from config import AgentSettings, ConfigError, ScannerSettings, load_agent_settings

Level = Literal["ok", "warn", "fail"]
MIN_FREE_BYTES = 200 * 1024 * 1024  # a year of a busy till's outbox is a few MB; WAL, backups
LOW_FREE_BYTES = 1024 * 1024 * 1024
MAX_SKEW_S = 60.0  # receipt-QR expiry and the ledger's times are read against the cloud's clock


@dataclass
class Check:
    """One verdict: which part, how it is, what was seen, what to do about it."""

    part: str
    level: Level
    detail: str
    fix: str = ""

    def line(self) -> str:
        """The check as one line for people."""
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[self.level]
        fix = f" -> {self.fix}" if self.fix and self.level != "ok" else ""
        return f"{mark}  {self.part}: {self.detail}{fix}"


def check_config(path: Path | None) -> tuple[Check, AgentSettings | None]:
    """The config file loads and is valid."""
    try:
        settings = load_agent_settings(path)
    except ConfigError as err:
        return Check("config", "fail", str(err), "fix the named setting"), None
    where = str(path.resolve()) if path else "defaults and environment (no --config)"
    return Check("config", "ok", f"{where} is valid"), settings


def check_data_dir(settings: AgentSettings, user: pwd.struct_passwd) -> list[Check]:
    """The data folder: there (or creatable), writable, enough free space, owned by the user."""
    folder = settings.agent.data_dir
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), Path("/"))
        if not os.access(parent, os.W_OK | os.X_OK):
            return [
                Check(
                    "data folder",
                    "fail",
                    f"{folder} does not exist and {parent} cannot be written",
                    f"create it: install -d -m 0700 -o {user.pw_name} {folder}",
                )
            ]
        return [Check("data folder", "ok", f"{folder} does not exist yet; the agent creates it")]
    out: list[Check] = []
    if user.pw_uid != os.getuid():  # checking for the service user: by its permissions
        if _may(folder.stat(), user, os.W_OK | os.X_OK):
            out.append(Check("data folder", "ok", f"{user.pw_name} may write {folder}"))
        else:
            out.append(
                Check(
                    "data folder",
                    "fail",
                    f"{user.pw_name} may not write {folder}",
                    f"chown -R {user.pw_name} {folder}",
                )
            )
    else:
        out.append(_probe_write(folder, user))
    free = shutil.disk_usage(folder).free
    size = f"{free / 1024**3:.1f} GB free"
    if free < MIN_FREE_BYTES:
        out.append(Check("disk", "fail", f"{size} under {folder}", "free space on that disk"))
    elif free < LOW_FREE_BYTES:
        out.append(Check("disk", "warn", f"{size} under {folder}", "free space soon"))
    else:
        out.append(Check("disk", "ok", size))
    st = folder.stat()
    if st.st_uid != user.pw_uid:
        owner = _user_name(st.st_uid)
        out.append(
            Check(
                "data owner",
                "fail",
                f"{folder} belongs to {owner}, the agent runs as {user.pw_name}",
                f"chown -R {user.pw_name} {folder}",
            )
        )
    elif st.st_mode & 0o077:
        out.append(
            Check(
                "data owner",
                "warn",
                f"{folder} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); it holds "
                "customer data",
                f"chmod 0700 {folder}",
            )
        )
    else:
        out.append(Check("data owner", "ok", f"{folder} belongs to {user.pw_name}, mode 0700"))
    return out


def check_database(settings: AgentSettings) -> Check:
    """The database file: its schema is one this release knows (read-only look)."""
    from agent.db.schema import SCHEMA_VERSION

    path = settings.agent.database
    if not path.exists():
        return Check("database", "ok", f"{path} will be created at first start")
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as err:
        return Check("database", "fail", f"{path} cannot be read: {err}", "restore a backup")
    if version > SCHEMA_VERSION:
        return Check(
            "database",
            "fail",
            f"{path} is at schema {version}, this release knows up to {SCHEMA_VERSION}",
            "install the release that wrote it (or newer), or restore an older backup",
        )
    return Check("database", "ok", f"{path}, schema {version} of {SCHEMA_VERSION}")


async def check_listen(settings: AgentSettings) -> Check:
    """The agent's port is free, or an agent already answers there."""
    host, port = settings.agent.host, settings.agent.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return Check("listen", "ok", f"{settings.agent.listen} is free for the agent")
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                return Check(
                    "listen",
                    "fail",
                    f"cannot listen on {settings.agent.listen}: {err.strerror}",
                    "set agent.listen to an address of this machine",
                )
    url = f"http://{'[' + host + ']' if family == socket.AF_INET6 else host}:{port}/health"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
            session.get(url) as resp,
        ):
            body = await resp.json(content_type=None)
        if isinstance(body, dict) and "outbox" in body:
            return Check("listen", "ok", f"an agent already answers on {settings.agent.listen}")
    except (aiohttp.ClientError, TimeoutError, ValueError):
        pass
    return Check(
        "listen",
        "fail",
        f"{settings.agent.listen} is taken by another program",
        "stop it (ss -ltnp) or set another agent.listen",
    )


async def check_cloud(settings: AgentSettings) -> list[Check]:
    """The cloud answers, agrees on the time, accepts the device key and sends a program."""
    base = settings.cloud.url.rstrip("/")
    if not base:
        return [
            Check(
                "cloud",
                "warn",
                "no cloud.url: checks stay on this box",
                "set cloud.url and cloud.device_key (stampedge cloud init writes them)",
            )
        ]
    timeout = aiohttp.ClientTimeout(total=settings.cloud.timeout_s)
    out: list[Check] = []
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            sent = time.time()
            async with session.get(f"{base}/health") as resp:
                got = time.time()
                date = resp.headers.get("Date")
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            detail = str(err) or type(err).__name__
            return [
                Check(
                    "cloud",
                    "fail",
                    f"{base} cannot be reached: {detail}",
                    "check the network, cloud.url and that the cloud is running",
                )
            ]
        if status != 200:
            out.append(
                Check("cloud", "fail", f"{base}/health answered {status}", "check cloud.url")
            )
        else:
            out.append(Check("cloud", "ok", f"{base} answers"))
        out.append(_clock(date, (sent + got) / 2, got - sent))
        out.append(await _device_key(session, base, settings))
    return out


def _clock(date: str | None, local: float, rtt: float) -> Check:
    if not date:
        return Check("clock", "warn", "the cloud sent no Date header", "")
    try:
        remote = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return Check("clock", "warn", f"the cloud's Date {date!r} cannot be read")
    skew = local - remote
    # Date has whole seconds: up to 1 s (plus the round trip) is no skew at all.
    if abs(skew) <= MAX_SKEW_S + 1 + rtt:
        return Check("clock", "ok", f"within {abs(skew):.0f} s of the cloud")
    side = "ahead of" if skew > 0 else "behind"
    return Check(
        "clock",
        "fail",
        f"this box is {abs(skew):.0f} s {side} the cloud",
        "enable time sync: timedatectl set-ntp true",
    )


async def _device_key(session: aiohttp.ClientSession, base: str, settings: AgentSettings) -> Check:
    key = settings.cloud.device_key.get_secret_value()
    if not key:
        return Check("device key", "fail", "cloud.device_key is empty", "stampedge cloud init")
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with session.get(f"{base}/v1/sync/state?cursor=0", headers=headers) as resp:
            status = resp.status
            body = await resp.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
        return Check("device key", "fail", f"the sync state cannot be fetched: {err}")
    if status in (401, 403):
        return Check(
            "device key",
            "fail",
            f"the cloud refuses cloud.device_key ({status})",
            "issue a new device key in the back office or stampedge cloud init",
        )
    if status != 200 or not isinstance(body, dict):
        return Check("device key", "fail", f"GET /v1/sync/state answered {status}")
    program = body.get("program") or {}
    return Check(
        "device key",
        "ok",
        f"accepted; branch {body.get('branch_id')}, program version {program.get('version')} "
        f"({program.get('rule')}, goal {program.get('goal')})",
    )


async def check_printer(settings: AgentSettings) -> Check:
    """The printer answers DLE EOT and has paper."""
    from printers.probe import probe_printer

    p = settings.printer
    state = await probe_printer(p)
    if state.state == "disabled":
        return Check("printer", "ok", "none configured (the POS prints the QR itself)")
    if state.state == "ok":
        return Check("printer", "ok", f"{p.kind}: {state.detail}")
    fixes = {
        "paper_out": "load a new paper roll",
        "cover_open": "close the printer's cover",
        "offline": "switch it on, check the cable or printer.address / printer.device",
        "error": "look at the printer (cutter jam, head too hot) or at [printer]",
        "unknown": "set the printer to answer DLE EOT, or printer.require_status = false",
    }
    level: Level = "warn" if state.state == "unknown" else "fail"
    return Check("printer", level, f"{p.kind}: {state.detail}", fixes.get(state.state, ""))


def check_scanner(s: ScannerSettings, n: int, user: pwd.struct_passwd) -> list[Check]:
    """One scanner: the device is there, the service user may open it, nothing holds it."""
    where = s.address if s.kind == "tcp" else s.device
    part = f"scanner {s.name or f'{s.kind}:{where}#{n}'}"
    if s.kind == "tcp":
        return [_tcp_scanner(part, s.address)]
    path = Path(s.device)
    if not path.exists():
        hint = (
            "plug it in; name it by /dev/serial/by-id/... so it keeps its name"
            if s.kind == "serial"
            else "plug it in; name it by /dev/input/by-id/...-event-kbd"
        )
        return [Check(part, "fail", f"{s.device} is not there", hint)]
    out = [_access(part, path, user, os.R_OK | (os.W_OK if s.kind == "serial" else 0))]
    if s.kind == "hid" and s.grab and out[0].level == "ok":
        out.append(_grab(part, path))
    return out


def _probe_write(folder: Path, user: pwd.struct_passwd) -> Check:
    try:
        fd, probe = tempfile.mkstemp(prefix=".doctor-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return Check(
            "data folder",
            "fail",
            f"{folder} cannot be written: {err.strerror}",
            f"chown -R {user.pw_name} {folder}",
        )
    return Check("data folder", "ok", f"{folder} is writable")


def _tcp_scanner(part: str, address: str) -> Check:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=3):
            return Check(part, "ok", f"{address} accepts a connection")
    except (OSError, ValueError) as err:
        return Check(part, "fail", f"{address}: {err}", "check the scanner's address and power")


def _access(part: str, path: Path, user: pwd.struct_passwd, mode: int) -> Check:
    st = path.stat()
    want = "read and write" if mode & os.W_OK else "read"
    if _may(st, user, mode):
        return Check(part, "ok", f"{path} present; {user.pw_name} may {want} it")
    group = _group_name(st.st_gid)
    return Check(
        part,
        "fail",
        f"{path} present but {user.pw_name} may not {want} it (owner {_user_name(st.st_uid)}, "
        f"group {group}, mode {stat.S_IMODE(st.st_mode):o})",
        f"stampedge service install writes a udev rule for it, or: usermod -aG {group} "
        f"{user.pw_name}",
    )


def _may(st: os.stat_result, user: pwd.struct_passwd, mode: int) -> bool:
    if user.pw_uid == 0:
        return True
    bits = stat.S_IMODE(st.st_mode)
    # The owner's bits for R, W, X; the group's and others' are those shifted right 3 and 6.
    want = (0o400 if mode & os.R_OK else 0) | (0o200 if mode & os.W_OK else 0)
    want |= 0o100 if mode & os.X_OK else 0
    if st.st_uid == user.pw_uid:
        return bits & want == want
    if st.st_gid in user_gids(user):
        return bits & (want >> 3) == want >> 3
    return bits & (want >> 6) == want >> 6


def _grab(part: str, path: Path) -> Check:
    try:
        import evdev  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return Check(part, "fail", "evdev is not installed", "pip install 'stampedge[hid]'")
    try:
        dev = evdev.InputDevice(str(path))
    except OSError as err:
        return Check(part, "fail", f"{path} cannot be opened: {err.strerror}")
    try:
        dev.grab()
        dev.ungrab()
        return Check(part, "ok", "exclusive grab works (scans will not reach the screen)")
    except OSError as err:
        return Check(
            part,
            "warn",
            f"exclusive grab refused ({err.strerror}): another program holds it "
            "(the running agent does)",
            "stop the other reader",
        )
    finally:
        dev.close()


def check_groups(settings: AgentSettings, user: pwd.struct_passwd) -> Check:
    """The service user's groups, and which device groups it still lacks."""
    names = sorted(_group_name(g) for g in user_gids(user))
    devices = [Path(s.device) for s in settings.scanner if s.kind != "tcp"]
    if settings.printer.kind == "serial":
        devices.append(Path(settings.printer.device))
    missing = sorted(
        {
            _group_name(p.stat().st_gid)
            for p in devices
            if p.exists() and not _may(p.stat(), user, os.R_OK)
        }
    )
    detail = f"{user.pw_name} is in {', '.join(names) or 'no group'}"
    if missing:
        return Check(
            "groups",
            "fail",
            f"{detail}; not in {', '.join(missing)}",
            f"usermod -aG {','.join(missing)} {user.pw_name}, or stampedge service install",
        )
    return Check("groups", "ok", detail)


def user_gids(user: pwd.struct_passwd) -> set[int]:
    """The primary and supplementary group ids of ``user``."""
    return {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


async def run_checks(config: Path | None, user_name: str | None = None) -> list[Check]:
    """Every check, in the order a person would fix things; file, device and database looks
    run in a thread, so the loop stays free for the network checks' timeouts."""
    if user_name is None:
        user = pwd.getpwuid(os.getuid())
    else:
        try:
            user = pwd.getpwnam(user_name)
        except KeyError:
            return [Check("user", "fail", f"no user {user_name!r}", "stampedge service install")]
    first, settings = await asyncio.to_thread(check_config, config)
    if settings is None:
        return [first]
    checks = [first, *await asyncio.to_thread(check_data_dir, settings, user)]
    checks.append(await asyncio.to_thread(check_database, settings))
    checks.append(await check_listen(settings))
    checks += await check_cloud(settings)
    checks.append(await check_printer(settings))
    for n, s in enumerate(settings.scanner):
        checks += await asyncio.to_thread(check_scanner, s, n, user)
    checks.append(await asyncio.to_thread(check_groups, settings, user))
    return checks


def report(checks: Sequence[Check], *, as_json: bool) -> tuple[str, int]:
    """The text to print and the exit code (1 when anything failed)."""
    failed = [c for c in checks if c.level == "fail"]
    code = 1 if failed else 0
    if as_json:
        body = {"ok": not failed, "checks": [asdict(c) for c in checks]}
        return json.dumps(body, indent=2), code
    lines = [c.line() for c in checks]
    if failed:
        lines.append(f"{len(failed)} problem(s): {', '.join(c.part for c in failed)}")
    else:
        lines.append("all good")
    return "\n".join(lines), code


def main(config: Path | None, *, as_json: bool, user: str | None) -> int:
    """``stampedge doctor``: print the checks, return the exit code."""
    text, code = report(asyncio.run(run_checks(config, user)), as_json=as_json)
    print(text)
    return code
