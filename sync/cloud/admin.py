"""HTTP handlers for the business's admin: branches, devices, programs, and the figures."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from sync.cloud.errors import InvalidInput, NotFound
from sync.cloud.figures import MAX_DAYS
from sync.cloud.http import STORE, int_param, now, principal, read_body
from sync.cloud.models import (
    AdminKeyOut,
    BranchIn,
    BranchList,
    DeviceIn,
    DeviceList,
    ProgramConfig,
)
from sync.web.http_util import json_answer


def _branch_id(request: web.Request) -> int:
    value = int_param(request.match_info["id"], "id") if request.match_info["id"] else None
    if value is None or not 1 <= value < 2**62:
        raise NotFound("no such branch in this business", field="id")
    return value


async def post_branch(request: web.Request) -> web.Response:
    """``POST /v1/branches``: a new branch with its program."""
    who = await principal(request, need="admin")
    body = await read_body(request, BranchIn)
    out = await request.app[STORE].create_branch(
        who.business_id, body.name, body.timezone, body.program or ProgramConfig(), now(request)
    )
    return json_answer(out, status=201)


async def get_branches(request: web.Request) -> web.Response:
    """``GET /v1/branches``: every branch for an admin key; a device key sees its own."""
    who = await principal(request)
    found = await request.app[STORE].branches(who.business_id)
    if who.kind == "device":
        found = [b for b in found if b.branch_id == who.branch_id]
    return json_answer(BranchList(branches=found))


async def put_program(request: web.Request) -> web.Response:
    """``PUT /v1/branches/{id}/program``: change the rule, step, goal or reward."""
    who = await principal(request, need="admin")
    try:
        branch_id = _branch_id(request)
    except InvalidInput as err:
        raise NotFound("no such branch in this business", field="id") from err
    program = await read_body(request, ProgramConfig)
    return json_answer(await request.app[STORE].set_program(who.business_id, branch_id, program))


async def post_device(request: web.Request) -> web.Response:
    """``POST /v1/devices``: a new device key for a branch (shown once)."""
    who = await principal(request, need="admin")
    body = await read_body(request, DeviceIn)
    out = await request.app[STORE].create_device(
        who.business_id, body.branch_id, body.label, now(request)
    )
    return json_answer(out, status=201)


async def post_admin_key(request: web.Request) -> web.Response:
    """``POST /v1/admin-key``: a new admin key for the business (shown once). The key that
    asked stops working at once, in every cloud process: a key that leaked (a manager who left,
    a laptop lost) is replaced without touching the tills' device keys."""
    who = await principal(request, need="admin")
    key = await request.app[STORE].rotate_admin_key(who.business_id)
    return json_answer(AdminKeyOut(business_id=who.business_id, admin_key=key), status=201)


async def get_devices(request: web.Request) -> web.Response:
    """``GET /v1/devices``: the business's devices (never their keys or secrets)."""
    who = await principal(request, need="admin")
    return json_answer(DeviceList(devices=await request.app[STORE].devices(who.business_id)))


async def delete_device(request: web.Request) -> web.Response:
    """``DELETE /v1/devices/{id}``: revoke a device key (a lost till, staff who left)."""
    who = await principal(request, need="admin")
    device_id = (
        int_param(request.match_info["id"], "id") if request.match_info["id"].isdigit() else None
    )
    if device_id is None or not 1 <= device_id < 2**62:
        raise NotFound("no such device in this business", field="id")
    out = await request.app[STORE].revoke_device(who.business_id, device_id, now(request))
    return json_answer(out)


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as err:
        raise InvalidInput(f"{name} must be a date like 2024-05-31", field=name) from err
    if not 2000 <= day.year <= 2200:
        raise InvalidInput(f"{name} must be between the years 2000 and 2200", field=name)
    return day


async def get_stats(request: web.Request) -> web.Response:
    """``GET /v1/stats?branch=&from=&to=``: per day in the branch's zone, per device."""
    who = await principal(request)
    store = request.app[STORE]
    wanted = int_param(request.query.get("branch"), "branch")
    if wanted is not None and not 1 <= wanted < 2**62:
        raise NotFound("no such branch in this business", field="branch")
    branch_id = who.branch_for(wanted)
    if branch_id is None:
        branch_id = (await store.branches(who.business_id))[0].branch_id
    branch = await store.branch(who.business_id, branch_id)
    today = _today(now(request), branch.timezone)
    last = _date(request.query.get("to"), "to") or today
    first = _date(request.query.get("from"), "from") or last - timedelta(days=6)
    if first > last:
        raise InvalidInput("from is after to", field="from")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at a time", field="to")
    return json_answer(await store.stats(who, branch_id, first, last))


def _today(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()
