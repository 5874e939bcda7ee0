"""The ``stampedge`` command: demo, agent, queue; the cloud and printer parts add theirs.

Every sub-command imports what it runs only when it runs, and a part's own sub-commands
(``EXTENSIONS``) are imported only when asked for (or for ``--help``): ``stampedge cloud`` on a
cloud server loads no agent, printer or scanner module, and the agent's extra need not be
installed there.
"""

import argparse
import asyncio
import errno
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from config import AgentSettings, ConfigError, load_agent_settings

# sub-command -> the module whose ``register(subparsers)`` adds it
EXTENSIONS = {"cloud": "sync.cloud.cli", "printer": "printers.cli"}
# sub-command -> the extra (pyproject.toml) that installs the libraries it needs
EXTRA_FOR = {"cloud": "cloud", "demo": "agent,cloud"}
OUR_PACKAGES = ("agent", "sync", "printers", "drivers", "config")
LISTEN_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


def _agent_settings(args: argparse.Namespace) -> AgentSettings:
    return load_agent_settings(args.config)


def cmd_agent(args: argparse.Namespace) -> int:
    from agent.db import DatabaseBusy, DatabaseTooNew

    if args.action != "run":
        return _agent_db_command(args)
    from agent.http.server import run_agent
    from sync.web.logs import setup_logging

    settings = _agent_settings(args)
    a = settings.agent
    setup_logging(json_lines=a.log_json, level=a.log_level, access=a.log_access)
    try:
        asyncio.run(run_agent(settings))
    except (DatabaseTooNew, DatabaseBusy) as err:
        print(f"stampedge: {err}", file=sys.stderr)
        return 2
    return 0


def _agent_db_command(args: argparse.Namespace) -> int:
    """``agent backup --to PATH`` / ``agent restore --from PATH``: a report as JSON."""
    from agent.db import DatabaseBusy
    from agent.db.backup import backup_agent_db, restore_agent_db

    database = _agent_settings(args).agent.database
    try:
        if args.action == "backup":
            if args.to is None:
                raise ConfigError("agent backup needs --to PATH (a file that does not exist yet)")
            report = backup_agent_db(database, args.to)
        else:
            if args.source is None:
                raise ConfigError("agent restore needs --from PATH (a file agent backup wrote)")
            report = restore_agent_db(database, args.source)
    except DatabaseBusy as err:
        raise ConfigError(f"agent {args.action}: {err}") from err
    print_json(report)
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from agent.db import DatabaseBusy, DatabaseTooNew
    from agent.queue_cli import run_queue_command

    try:
        return asyncio.run(run_queue_command(_agent_settings(args), args))
    except (DatabaseTooNew, DatabaseBusy) as err:
        print(f"stampedge: {err}", file=sys.stderr)
        return 2


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo

    return run_demo(Path(args.dir), agent_port=args.agent_port, cloud_port=args.cloud_port)


def cmd_doctor(args: argparse.Namespace) -> int:
    from agent.doctor import main as doctor

    return doctor(args.config, as_json=args.json, user=args.user)


def cmd_service(args: argparse.Namespace) -> int:
    from agent.service_install import main as service

    return service(args)


def version() -> str:
    """The installed package's version (the source tree's when run from a checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("stampedge")
    except PackageNotFoundError:
        return "0+unknown"


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (its first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``stampedge`` parser; with ``argv``, only the part that ``argv`` asks for is imported."""
    parser = argparse.ArgumentParser(
        prog="stampedge", description="Stamp-card loyalty: edge agent and cloud store."
    )
    parser.add_argument("--version", action="version", version=f"stampedge {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="check this box: config, disk, cloud, printer, ...")
    doctor.add_argument("--config", type=Path, help="agent.toml")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument("--user", help="the service user to check for (default: you)")
    doctor.set_defaults(func=cmd_doctor)

    service = sub.add_parser("service", help="install or remove the systemd units and udev rules")
    service.add_argument("action", choices=["install", "uninstall"])
    service.add_argument("--config", type=Path, help="agent.toml (its scanners get udev rules)")
    service.add_argument("--cloud-config", type=Path, help="cloud.toml: also a cloud unit")
    service.add_argument("--user", default="stampedge", help="the service's system user")
    service.add_argument("--root", type=Path, default=Path("/"), help="write under DIR, not /")
    service.add_argument("--force", action="store_true", help="overwrite files changed by hand")
    service.set_defaults(func=cmd_service)

    demo = sub.add_parser("demo", help="cloud + agent on embedded SQLite under ./var/")
    demo.add_argument("--dir", default="./var", help="where the demo keeps its files")
    demo.add_argument("--agent-port", type=int, default=8787)
    demo.add_argument("--cloud-port", type=int, default=8788)
    demo.set_defaults(func=cmd_demo)

    agent = sub.add_parser(
        "agent", help="run the edge agent, back up its database (agent backup) or restore one"
    )
    agent.add_argument(
        "action", nargs="?", choices=["run", "backup", "restore"], default="run",
        help="default: run",
    )  # fmt: skip
    agent.add_argument("--config", type=Path, help="agent.toml")
    agent.add_argument("--to", type=Path, help="backup: the new file to write (never overwritten)")
    agent.add_argument(
        "--from", dest="source", type=Path, help="restore: a file agent backup wrote"
    )
    agent.set_defaults(func=cmd_agent)

    queue = sub.add_parser("queue", help="look at and act on the agent's outbox")
    queue.add_argument(
        "action", choices=["status", "list", "retry", "dead", "flush"], help="what to do"
    )
    queue.add_argument("--config", type=Path, help="agent.toml")
    queue.add_argument("--json", action="store_true", help="machine-readable output")
    queue.add_argument("--state", choices=["pending", "sent", "acked", "dead"], default=None)
    queue.add_argument("--limit", type=int, default=50)
    queue.add_argument("ids", nargs="*", help="event ids (retry: default all dead ones)")
    queue.set_defaults(func=cmd_queue)

    wanted = _command(sys.argv[1:] if argv is None else argv)
    for command, name in EXTENSIONS.items():
        if wanted in EXTENSIONS and wanted != command:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:
                continue
            # A library that part needs is not installed here (a cloud server has no printer
            # libraries): the command stays listed and says what is missing when run.
            stub = sub.add_parser(command, help=f"(not installed here: needs {err.name})")
            stub.add_argument("rest", nargs=argparse.REMAINDER)
            stub.set_defaults(func=_missing(err))
            continue
        module.register(sub)
    return parser


def _missing(err: ModuleNotFoundError) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise err

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stampedge`` console script."""
    args = build_parser(argv).parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as err:
        print(f"stampedge: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if not err.name or err.name.split(".")[0] in OUR_PACKAGES:
            raise
        print(
            f"stampedge {args.command}: the Python module {err.name!r} is not installed here; "
            f"pip install 'stampedge[{EXTRA_FOR.get(args.command, 'agent')}]' installs it",
            file=sys.stderr,
        )
        return 2
    except OSError as err:
        if err.errno not in LISTEN_ERRORS:
            raise
        # asyncio's text names the address: "... bind on address (host, port): address in use"
        print(
            f"stampedge: {err.strerror}; is another one running? (stampedge doctor)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def print_json(value: object) -> None:
    """Pretty JSON on stdout."""
    print(json.dumps(value, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
