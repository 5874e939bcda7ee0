"""Provisioning: a business with its first branch, program and device, and the agent's TOML."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.cloud.currencies import check_currency
from sync.cloud.models import ProgramConfig, check_timezone
from sync.cloud.store import Store
from sync.contract.phones import check_country


async def init_business(
    store: Store,
    *,
    business: str,
    branch: str,
    rule: str,
    step: Decimal = Decimal("10"),
    goal: int = 10,
    stamps_per_order: int = 1,
    timezone: str = "UTC",
    reward: str = "gift",
    currency: str = "EUR",
    now: datetime | None = None,
    force: bool = False,
    country: str | None = None,
) -> dict[str, Any]:
    """Create a business, a branch with its program and one device; keys are shown this once.

    Returns ``business_id``, ``branch_id``, ``admin_key``, ``device_key``, ``device_secret``,
    ``device_id``. ``country`` (ISO 3166 alpha-2: where the customers' phone numbers are read)
    defaults to the time zone's country (``Europe/Berlin``: ``DE``; none for ``UTC``).
    ``ValueError`` for a rule, step, goal, reward, currency, country or time zone that is
    not valid, and for a business name already taken unless ``force`` (run twice by mistake, an
    init would otherwise make a second business and the tills would sync into the wrong one).
    """
    at = now or datetime.now(UTC)
    program = ProgramConfig.model_validate(
        {
            "rule": rule,
            "step": step,
            "goal": goal,
            "stamps_per_order": stamps_per_order,
            "reward": reward,
            "currency": check_currency(currency),
        }
    )
    check_timezone(timezone)
    country = check_country(country) if country else await asyncio.to_thread(zone_country, timezone)
    taken = await store.businesses_named(business)
    if taken and not force:
        raise ValueError(
            f"a business named {business!r} already exists (id {taken[0]}); "
            "pass --force to make another one"
        )
    business_id, admin_key = await store.create_business(business, at, country)
    made = await store.create_branch(business_id, branch, timezone, program, at)
    device = await store.create_device(business_id, made.branch_id, "till-1", at)
    return {
        "business_id": business_id,
        "branch_id": made.branch_id,
        "admin_key": admin_key,
        "device_id": device.device_id,
        "device_key": device.device_key,
        "device_secret": device.device_secret,
        "rule": program.rule,
        "step": str(program.step),
        "goal": program.goal,
        "stamps_per_order": program.stamps_per_order,
        "timezone": timezone,
        "currency": program.currency,
        "country": country,
    }


ZONE_TABLES = (Path("/usr/share/zoneinfo/zone.tab"), Path("/usr/share/zoneinfo/zone1970.tab"))


def zone_country(timezone: str) -> str | None:
    """The country of an IANA time zone from the system's ``zone.tab`` (None if it names no
    single country, like ``UTC``, or the table is missing). Reads a file: call off the loop."""
    for table in ZONE_TABLES:
        try:
            lines = table.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            cols = line.split("\t")
            if len(cols) >= 3 and not line.startswith("#") and cols[2] == timezone:
                countries = cols[0].split(",")
                return countries[0] if len(countries) == 1 else None
        return None
    return None


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def agent_toml(result: dict[str, Any], cloud_url: str, claim_base_url: str) -> str:
    """A ready agent TOML pointing at this cloud with the new device's key and secret."""
    return (
        "# Written by `stampedge cloud init`: keep it private (it holds the device secret).\n"
        "[agent]\n"
        'listen = "127.0.0.1:8787"\n'
        'data_dir = "./var/agent"\n'
        'mode = "receipt_qr"\n'
        f"branch_timezone = {_q(str(result.get('timezone', 'UTC')))}\n\n"
        "[cloud]\n"
        f"url = {_q(cloud_url)}\n"
        f"device_key = {_q(result['device_key'])}\n"
        f"device_secret = {_q(result['device_secret'])}\n"
        f"claim_base_url = {_q(claim_base_url)}\n\n"
        "[program]\n"
        f"rule = {_q(str(result.get('rule', 'by_amount')))}\n"
        f"step = {_q(str(result.get('step', '10')))}\n"
        f"stamps_per_order = {int(result.get('stamps_per_order', 1))}\n"
        f"goal = {int(result.get('goal', 10))}\n"
        f"currency = {_q(str(result.get('currency', 'EUR')))}\n"
    )
