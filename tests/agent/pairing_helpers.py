"""Pairing a device with a test agent over real HTTP, as the status page and a phone do."""

import re
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient

from agent.pages.pairing import COOKIE


async def open_code(owner: TestClient[Any, Any], role: str) -> str:
    """Press "Pair a kiosk/staff phone" on the status page; the code it then shows."""
    resp = await owner.post("/pairing/code", data={"role": role}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    page = await (await owner.get("/")).text()
    found = re.search(r'id="pairing-code">(\d{3}) (\d{3})<', page)
    assert found, "the status page shows no pairing code"
    return found.group(1) + found.group(2)


async def pair(owner: TestClient[Any, Any], role: str, name: str = "") -> str:
    """Pair a new device for ``role``; its session cookie's value."""
    code = await open_code(owner, role)
    async with ClientSession() as device:
        resp = await device.post(
            owner.make_url("/pair"), data={"code": code, "name": name}, allow_redirects=False
        )
        assert resp.status == 303, await resp.text()
        assert resp.headers["Location"] == f"/{role}"
        cookie = resp.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        return cookie.value


def device_headers(token: str) -> dict[str, str]:
    """The cookie header a paired browser sends."""
    return {"Cookie": f"{COOKIE}={token}"}
