"""The other sources and the odd configurations: a TCP network scanner that drops and comes
back, a HID keyboard wedge (evdev's device replaced at the library boundary, since this machine
has no input devices), settings that cannot work, and a receipt QR shown to a scanner."""

import asyncio
import errno
from collections.abc import AsyncIterator
from typing import Any

import evdev
import pytest
from evdev import InputEvent, ecodes

from agent.scans.routes import SCANNING
from drivers.hid_keymap import type_text
from sync.contract.card_code import new_card_code
from sync.contract.claim_token import claim_url, mint
from tests.conftest import free_port
from tests.drivers.conftest import AgentFactory, Client, events, scan_rows
from tests.fakes.scanner import eventually


async def _is(value: bool) -> bool:
    return value


async def _stamps(agent: Client, n: int) -> bool:
    return len(await events(agent, "scan.stamped")) == n


class NetworkScanner:
    """A network scanner listening on a TCP port; the agent connects to it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: asyncio.Server | None = None
        self.clients: list[asyncio.StreamWriter] = []
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.append(writer)
        self.connected.set()

    async def send(self, data: bytes) -> None:
        writer = self.clients[-1]
        writer.write(data)
        await writer.drain()

    async def stop(self) -> None:
        for w in self.clients:
            w.close()
        self.clients.clear()
        self.connected.clear()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


@pytest.fixture
async def network_scanner() -> AsyncIterator[NetworkScanner]:
    scanner = NetworkScanner(free_port())
    await scanner.start()
    yield scanner
    await scanner.stop()


async def test_given_a_tcp_scanner_that_restarts_then_the_agent_reconnects_and_reads(
    make_agent: AgentFactory, network_scanner: NetworkScanner
) -> None:
    address = f"127.0.0.1:{network_scanner.port}"
    agent = await make_agent(
        scanner=[{"kind": "tcp", "address": address, "till": "k", "mode": "kiosk"}]
    )
    runner = agent.app[SCANNING].scanners[0].runner
    await asyncio.wait_for(network_scanner.connected.wait(), 10)
    await eventually(lambda: _is(runner.state == "ok"), what="the connection")
    await network_scanner.send(new_card_code().encode() + b"\r\n")
    await eventually(lambda: _stamps(agent, 1), what="the first stamp")

    await network_scanner.stop()  # the scanner reboots: connection gone, port closed a while
    await eventually(lambda: _is(runner.state == "reconnecting"), what="the loss")
    assert (await (await agent.get("/health")).json())["scanners"][0]["state"] == "reconnecting"
    await network_scanner.start()
    await asyncio.wait_for(network_scanner.connected.wait(), 10)
    await eventually(lambda: _is(runner.state == "ok"), what="the reconnection")
    await network_scanner.send(new_card_code().encode() + b"\r\n")
    await eventually(lambda: _stamps(agent, 2), what="the stamp after reconnecting")


class FakeInputDevice:
    """Stands in for ``evdev.InputDevice``: replays recorded events, can be unplugged."""

    present = True
    instances: list["FakeInputDevice"] = []

    def __init__(self, path: str) -> None:
        if not FakeInputDevice.present:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.path = path
        self.grabbed = False
        self.closed = False
        self.queue: asyncio.Queue[list[InputEvent] | OSError] = asyncio.Queue()
        FakeInputDevice.instances.append(self)

    def grab(self) -> None:
        self.grabbed = True

    def leds(self) -> list[int]:
        return [ecodes.LED_CAPSL]  # caps lock is on at the till when the scanner is plugged

    async def async_read(self) -> list[InputEvent]:
        item = await self.queue.get()
        if isinstance(item, OSError):
            raise item
        return item

    def close(self) -> None:
        self.closed = True

    def type(self, text: str, layout: str) -> None:
        self.queue.put_nowait([InputEvent(0, 0, *e) for e in type_text(text, layout)])


@pytest.fixture
def fake_evdev(monkeypatch: pytest.MonkeyPatch) -> type[FakeInputDevice]:
    FakeInputDevice.present = True
    FakeInputDevice.instances = []
    monkeypatch.setattr(evdev, "InputDevice", FakeInputDevice)
    return FakeInputDevice


async def test_given_a_german_hid_scanner_then_grabbed_decoded_and_reopened_after_unplug(
    make_agent: AgentFactory, fake_evdev: type[FakeInputDevice]
) -> None:
    hid = {"kind": "hid", "device": "/dev/input/by-id/usb-scanner-event-kbd", "layout": "de",
           "grab": True, "till": "till-1", "mode": "kiosk"}  # fmt: skip
    agent = await make_agent(scanner=[hid])
    runner = agent.app[SCANNING].scanners[0].runner
    await eventually(lambda: _is(runner.state == "ok"), what="the device to open")
    dev = fake_evdev.instances[-1]
    assert dev.grabbed
    card = new_card_code()
    # Caps lock is on: a scanner typing upper case with shift then sends lower case letters.
    dev.type(card.lower(), "de")
    await eventually(lambda: _stamps(agent, 1), what="the stamp")
    assert (await events(agent, "scan.stamped"))[0]["payload"]["customer"] == {"card": card}

    fake_evdev.present = False
    dev.queue.put_nowait(OSError(errno.ENODEV, "No such device"))
    await eventually(lambda: _is(runner.state == "reconnecting"), what="the unplug")
    assert dev.closed
    fake_evdev.present = True
    await eventually(lambda: _is(runner.state == "ok"), what="the replug")
    assert fake_evdev.instances[-1] is not dev and fake_evdev.instances[-1].grabbed
    fake_evdev.instances[-1].type(new_card_code(), "de")
    await eventually(lambda: _stamps(agent, 2), what="the stamp after replug")


async def test_given_settings_that_cannot_work_then_health_says_why_and_the_agent_serves(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(
        scanner=[
            {"kind": "tcp", "address": "no-port-here"},
            {"kind": "serial", "device": "/nonexistent/ttyACM7"},
        ]
    )
    channel = agent.app[SCANNING]
    await eventually(
        lambda: _is(all(s.runner.state in ("error", "reconnecting") for s in channel.scanners)),
        what="the scanners to give up or retry",
    )
    health = await (await agent.get("/health")).json()
    states = [(s["state"], s["detail"]) for s in health["scanners"]]
    assert states[0][0] == "error" and "host:port" in states[0][1]
    assert states[1][0] == "reconnecting" and "/nonexistent/ttyACM7" in states[1][1]
    assert health["status"] == "degraded"
    resp = await agent.post("/v1/scans", json={"code": new_card_code()})
    assert resp.status == 200


def test_given_an_unknown_keyboard_layout_then_start_up_stops_naming_it() -> None:
    from config import ConfigError, load_agent_settings

    with pytest.raises(ConfigError, match=r"scanner\.0\.layout"):
        load_agent_settings(None, {"scanner": [{"kind": "hid", "layout": "klingon"}]})


async def test_given_a_receipt_qr_shown_to_the_scanner_then_its_check_is_named(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent()
    order = await (
        await agent.post("/v1/orders", json={"order_id": "R-1", "total": "20", "till": "t"})
    ).json()
    resp = await agent.post("/v1/scans", json={"code": order["claim"]["url"], "till": "t"})
    body: dict[str, Any] = await resp.json()
    assert resp.status == 422
    assert body["outcome"] == "rejected" and body["kind"] == "receipt"
    assert body["reason"] == "receipt_qr" and body["order_id"] == "R-1"
    assert "phone" in body["message"] and "2 stamps" in body["message"]
    (row,) = await scan_rows(agent)
    assert row["order_id"] == "R-1" and row["reason"] == "receipt_qr"
    assert await events(agent, "scan.stamped") == []

    from datetime import UTC, datetime

    token, _ = mint(
        secret="another-device-secret-xxxxxxxx",
        device_id=3,
        order_id="X-1",
        stamps=1,
        now=datetime.now(UTC),
        ttl_hours=24,
    )
    resp = await agent.post(
        "/v1/scans", json={"code": claim_url("HTTP://127.0.0.1:8788/C/", token), "till": "t"}
    )
    body = await resp.json()
    assert body["reason"] == "receipt_qr" and body["order_id"] is None
    assert "another till" in body["message"]
