"""``stampedge cloud --config cloud.toml`` (serve), ``stampedge cloud init ...`` (provision),
``stampedge cloud backup --to PATH`` (a consistent copy of the SQLite store, ``backup.py``) and
``stampedge cloud rotate-admin-key --business-id N`` (a lost or leaked admin key replaced) and
``stampedge cloud plan --business-id N --plan free|paid|self-hosted [--ops N] [--seats N]`` (the
operator puts a business on a plan; prints its use this month)."""

import argparse
import asyncio
import gc
import json
import logging
import os
import sqlite3
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from config import ConfigError, load_cloud_settings
from config.cloud import CloudSettings
from sync.contract.limits import RULE_NAMES

log = logging.getLogger(__name__)
SWITCH_INTERVAL_S = 0.0001
GC_THRESHOLDS = (100_000, 20, 100)


def register(subparsers: Any) -> None:
    """Add the ``cloud`` command to the ``stampedge`` parser."""
    p = subparsers.add_parser(
        "cloud",
        help="run the cloud store, provision it (cloud init), back it up (cloud backup), "
        "replace a business's admin key (cloud rotate-admin-key) or set its plan (cloud plan)",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["serve", "init", "backup", "rotate-admin-key", "plan"],
        default="serve",
        help="default: serve",
    )
    p.add_argument("--config", type=Path, help="cloud.toml")
    p.add_argument("--business", help="init: the business's name")
    p.add_argument("--branch", help="init: the first branch's name")
    p.add_argument("--rule", choices=sorted(RULE_NAMES), help="init: how stamps are earned")
    p.add_argument("--step", default="10", help="init: by_amount: 1 stamp per this amount")
    p.add_argument("--goal", type=int, default=10, help="init: stamps for a reward")
    p.add_argument("--stamps-per-order", type=int, default=1, help="init: per_order stamps")
    p.add_argument("--timezone", default="UTC", help="init: the branch's IANA time zone")
    p.add_argument("--currency", default="EUR", help="init: ISO 4217 code of the till's money")
    p.add_argument(
        "--country",
        help="init: ISO 3166 country code (DE) phone numbers are read in "
        "(default: the time zone's country)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="init: replace an existing agent config, or make a second business of that name",
    )
    p.add_argument("--reward", choices=["gift", "voucher", "lottery"], default="gift")
    p.add_argument("--write-agent-config", type=Path, help="init: write a ready agent TOML here")
    p.add_argument("--to", type=Path, help="backup: the new file to write (never overwritten)")
    p.add_argument("--business-id", type=int, help="rotate-admin-key, plan: which business")
    p.add_argument("--plan", choices=["free", "paid", "self-hosted"], help="plan: which plan")
    p.add_argument("--ops", type=int, help="plan paid: card operations a month (none: no limit)")
    p.add_argument("--seats", type=int, help="plan paid: staff seats (none: no limit)")
    p.set_defaults(func=cmd_cloud)


def cmd_cloud(args: argparse.Namespace) -> int:
    """Serve; or provision, back up or rotate an admin key and print the outcome as JSON."""
    settings = load_cloud_settings(args.config)
    if args.action == "backup":
        return _backup(settings, args.to)
    if args.action == "rotate-admin-key":
        return _rotate(settings, args.business_id)
    if args.action == "plan":
        print(json.dumps(asyncio.run(_plan(settings, args)), indent=2))
        return 0
    if args.action == "init":
        target: Path | None = args.write_agent_config
        if target is not None and target.exists() and not args.force:
            # Checked before anything is made: a till's device key would go with the old file.
            raise ConfigError(
                f"cloud init: {target} exists (a till's config and keys); "
                "pass --force to replace it, or give another --write-agent-config"
            )
        result = asyncio.run(_init(settings, args))
        print(json.dumps(result, indent=2, default=str))
        return 0
    from sync.web.logs import setup_logging

    c = settings.cloud
    setup_logging(json_lines=c.log_json, level=c.log_level, access=c.log_access)
    asyncio.run(run_cloud(settings))
    return 0


def _backup(settings: CloudSettings, target: Path | None) -> int:
    from sync.cloud.backup import backup_store

    if target is None:
        raise ConfigError("cloud backup needs --to PATH (a file that does not exist yet)")
    done = backup_store(settings.cloud.database, target)
    print(json.dumps({
        "backup": str(done.path), "bytes": done.bytes, "schema_version": done.schema_version,
        "events": done.events, "customers": done.customers,
    }, indent=2))  # fmt: skip
    return 0


def _rotate(settings: CloudSettings, business_id: int | None) -> int:
    if business_id is None or not 1 <= business_id < 2**62:
        raise ConfigError("cloud rotate-admin-key needs --business-id N (the business's id)")
    key = asyncio.run(_rotate_admin_key(settings, business_id))
    print(json.dumps({"business_id": business_id, "admin_key": key}, indent=2))
    return 0


async def _rotate_admin_key(settings: CloudSettings, business_id: int) -> str:
    from sync.cloud.errors import NotFound

    store = await _open(settings)
    try:
        return str(await store.rotate_admin_key(business_id))
    except NotFound as err:
        raise ConfigError(f"cloud rotate-admin-key: no business {business_id}") from err
    finally:
        await store.close()


async def _plan(settings: CloudSettings, args: argparse.Namespace) -> dict[str, Any]:
    from datetime import UTC, datetime

    from sync.cloud.backoffice.plans import plan_named
    from sync.cloud.errors import NotFound

    business_id = args.business_id
    if business_id is None or not 1 <= business_id < 2**62 or args.plan is None:
        raise ConfigError("cloud plan needs --business-id N and --plan free|paid|self-hosted")
    if any(v is not None and not 0 <= v < 2**62 for v in (args.ops, args.seats)):
        raise ConfigError("cloud plan: --ops and --seats are whole numbers >= 0")
    if args.plan != "paid" and (args.ops is not None or args.seats is not None):
        raise ConfigError(f"cloud plan: the {args.plan} plan's limits are fixed; --ops and "
                          "--seats are for --plan paid")  # fmt: skip
    store = await _open(settings)
    try:
        await store.business_name(business_id)
        await store.set_plan(business_id, plan_named(args.plan, args.ops, args.seats))
        usage = await store.plan_usage(business_id, datetime.now(UTC))
    except NotFound as err:
        raise ConfigError(f"cloud plan: no business {business_id}") from err
    finally:
        await store.close()
    return {"business_id": business_id, **usage.model_dump()}


async def _open(settings: CloudSettings) -> Any:
    from sync.cloud.store import open_store

    url = settings.cloud.database
    try:
        return await open_store(url)
    except (OSError, sqlite3.Error) as err:
        raise ConfigError(f"cloud.database {url.split('://')[0]}: cannot open: {err}") from err
    except _postgres_errors() as err:  # a wrong login, role or database name: one line
        raise ConfigError(f"cloud.database postgresql: {err}".replace("\n", " ")) from err


def _postgres_errors() -> tuple[type[Exception], ...]:
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:
        return ()
    return (asyncpg.PostgresError, asyncpg.InterfaceError)


async def _init(settings: CloudSettings, args: argparse.Namespace) -> dict[str, Any]:
    from sync.cloud.provision import agent_toml, init_business

    missing = [f"--{n}" for n in ("business", "branch", "rule") if not getattr(args, n)]
    if missing:
        raise ConfigError(f"cloud init needs {', '.join(missing)}")
    try:
        step = Decimal(args.step)
    except InvalidOperation as err:
        raise ConfigError(f"--step {args.step!r} is not an amount") from err
    store = await _open(settings)
    try:
        result = await init_business(
            store,
            business=args.business,
            branch=args.branch,
            rule=args.rule,
            step=step,
            goal=args.goal,
            stamps_per_order=args.stamps_per_order,
            timezone=args.timezone,
            reward=args.reward,
            currency=args.currency,
            force=args.force,
            country=args.country,
        )
    except ValueError as err:
        raise ConfigError(f"cloud init: {err}".replace("\n", " ")) from err
    finally:
        await store.close()
    if args.write_agent_config:
        base = settings.cloud.public_url.rstrip("/")
        path: Path = args.write_agent_config
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if args.force else os.O_EXCL), 0o600
        )
        with os.fdopen(fd, "w") as fh:
            fh.write(agent_toml(result, base, f"{base}/c/"))
    return result


async def run_cloud(settings: CloudSettings) -> None:
    """Serve the cloud store until SIGINT or SIGTERM."""
    from sync.cloud.app import build_cloud_app
    from sync.web import sd_notify
    from sync.web.serve import serve, wait_for_stop

    # The database threads (SQLite) give up the GIL while SQLite works and need it back to
    # hand over each result; with the default 5 ms switch interval, a loop busy reading the
    # next batch's JSON keeps them waiting that long every time.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    store = await _open(settings)
    try:
        app = build_cloud_app(settings, store=store, reader_process=True)
        # What is imported and built by now lives as long as the process: frozen out of the
        # cyclic collector's full passes, which otherwise walk it every few event batches.
        gc.collect()
        gc.freeze()
        # A batch makes some 30,000 objects that live until its answer and die by reference
        # counting, none in a cycle; at the default threshold (700) the collector scanned
        # them a few times each (half the event loop's CPU in an ingest run), promoting them
        # to older generations that full passes then walk again.
        gc.set_threshold(*GC_THRESHOLDS)
        runner = await serve(app, settings.cloud.host, settings.cloud.port, what="cloud")
        sd_notify.ready(f"listening on {settings.cloud.listen}")
        try:
            await wait_for_stop()
        finally:
            sd_notify.stopping()
            await runner.cleanup()
    finally:
        await store.close()
