"""End to end through a real pty: bytes written as a serial scanner sends them reach the
outbox; unplug and replug recover without restarting; garbage, partial lines, floods and
over-long lines are rejected and counted while the agent keeps serving."""

from pathlib import Path
from typing import Any

from agent.http.state import ORDERS, RUNTIME
from agent.scans.routes import SCANNING
from sync.contract.card_code import new_card_code
from tests.clock import Clock
from tests.drivers.conftest import AgentFactory, Client, events, metric, scan_rows
from tests.fakes.scanner import PtyScanner, eventually


def _scanner(link: Path, mode: str = "kiosk", **extra: Any) -> dict[str, Any]:
    return {"kind": "serial", "device": str(link), "baudrate": 9600, "suffix": "\r",
            "till": "till-1", "mode": mode, **extra}  # fmt: skip


async def _health(agent: Client) -> dict[str, Any]:
    resp = await agent.get("/health")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def _opened(agent: Client) -> None:
    runner = agent.app[SCANNING].scanners[0].runner
    await eventually(lambda: _is(runner.state == "ok"), what="the scanner to open")


async def _is(value: bool) -> bool:
    return value


async def _count(agent: Client, type_: str) -> int:
    return len(await events(agent, type_))


async def test_given_a_kiosk_scanner_on_a_pty_when_a_card_is_read_then_a_stamp_is_in_the_outbox(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    agent = await make_agent(scanner=[_scanner(pty_scanner.link)])
    await _opened(agent)
    (entry,) = (await _health(agent))["scanners"]
    assert entry["state"] == "ok" and entry["kind"] == "serial" and entry["mode"] == "kiosk"
    card = new_card_code()
    await pty_scanner.scan(card)
    await eventually(lambda: _count_is(agent, "scan.stamped", 1), what="the stamp event")
    (event,) = await events(agent, "scan.stamped")
    assert event["payload"]["customer"] == {"card": card}
    assert event["payload"]["till"] == "till-1" and event["payload"]["stamps"] == 1
    (row,) = await scan_rows(agent)
    assert row["outcome"] == "stamped" and row["source"] == entry["name"]
    assert await metric(agent, "stampedge_scans_total", outcome="stamped") == 1


async def _count_is(agent: Client, type_: str, n: int) -> bool:
    return await _count(agent, type_) == n


async def test_given_an_autopilot_scanner_then_the_tills_next_check_is_stamped_to_the_card(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    agent = await make_agent(Clock(), scanner=[_scanner(pty_scanner.link, "autopilot")])
    await _opened(agent)
    card = new_card_code()
    # A CRLF scanner on a CR config, in two reads: still one scan.
    await pty_scanner.send(card[:5].encode())
    await pty_scanner.send(card[5:].encode() + b"\r\n")
    await eventually(lambda: _pending(agent, 1), what="the card to wait at the till")
    resp = await agent.post("/v1/orders", json={"order_id": "P-1", "total": "30", "till": "till-1"})
    body = await resp.json()
    assert resp.status == 201 and body["customer"]["card"] == card and body["claim"] is None
    (stamped,) = await events(agent, "order.stamped")
    assert stamped["payload"]["customer"] == {"card": card} and stamped["payload"]["stamps"] == 3


async def _pending(agent: Client, n: int) -> bool:
    svc = agent.app[SCANNING].service
    return svc is not None and len(svc.book) == n


async def test_given_the_scanner_is_unplugged_and_plugged_back_then_it_reads_again(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    agent = await make_agent(scanner=[_scanner(pty_scanner.link)])
    await _opened(agent)
    runner = agent.app[SCANNING].scanners[0].runner
    await pty_scanner.scan(new_card_code())
    await eventually(lambda: _count_is(agent, "scan.stamped", 1), what="the first stamp")

    pty_scanner.unplug()
    await eventually(lambda: _is(runner.state == "reconnecting"), what="the scanner to be lost")
    health = await _health(agent)
    assert health["status"] == "degraded"
    assert health["scanners"][0]["state"] == "reconnecting"
    assert "retrying" in health["scanners"][0]["detail"]
    # The agent keeps serving the POS meanwhile.
    resp = await agent.post("/v1/orders", json={"order_id": "U-1", "total": "10"})
    assert resp.status == 201

    pty_scanner.plug()  # a new device node at the same configured path
    await eventually(lambda: _is(runner.state == "ok"), what="the scanner to come back")
    assert runner.opens == 2
    await pty_scanner.scan(new_card_code())
    await eventually(lambda: _count_is(agent, "scan.stamped", 2), what="the stamp after replug")
    assert (await _health(agent))["status"] == "ok"


async def test_given_a_line_cut_by_an_unplug_then_its_half_never_glues_to_the_next_scan(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    agent = await make_agent(scanner=[_scanner(pty_scanner.link)])
    await _opened(agent)
    runner = agent.app[SCANNING].scanners[0].runner
    card = new_card_code()
    await pty_scanner.send(card[:7].encode())
    source: Any = runner.source
    await eventually(lambda: _is(source._framer.pending == 7), what="the half line to be read")
    pty_scanner.unplug()
    await eventually(lambda: _is(runner.state == "reconnecting"), what="the loss")
    pty_scanner.plug()
    await eventually(lambda: _is(runner.state == "ok"), what="the replug")
    await pty_scanner.scan(card)
    await eventually(lambda: _count_is(agent, "scan.stamped", 1), what="the stamp")
    rows = await scan_rows(agent)
    assert [r["outcome"] for r in rows] == ["stamped"]


async def test_given_garbage_partial_overlong_and_a_flood_then_rejected_counted_and_serving(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    clock = Clock()
    agent = await make_agent(clock, scanner=[_scanner(pty_scanner.link)])
    await _opened(agent)
    runner = agent.app[SCANNING].scanners[0].runner
    card = new_card_code()
    junk = b"".join(
        [
            b"\xff\xfe\xfd\r",  # line noise at a wrong baud rate: not UTF-8
            b"HELLO WORLD\r",  # some other barcode
            b"\x1b[31mSC\r",  # control characters
            b"9" * 100_000 + b"\r",  # far over 512 bytes
            b"\r\n\r\n",  # empty reads
            b"A" * 513 + b"\r",  # just over
        ]
    )
    flood = (card.encode() + b"\r") * 20_000  # a card held under a scanner in continuous mode
    await pty_scanner.send(junk + flood + b"SC12")  # ...and a partial line at the end
    await eventually(lambda: _is(runner.lines >= 20_005), timeout_s=30, what="the flood to be read")
    rows = await scan_rows(agent)
    reasons = [r["reason"] for r in rows if r["outcome"] == "rejected"]
    assert reasons[:5] == ["not_utf8", "unknown_code", "control_chars", "too_long", "too_long"]
    assert reasons.count("duplicate") == 19_999
    assert [r["outcome"] for r in rows].count("stamped") == 1
    assert await _count(agent, "scan.stamped") == 1  # the flood counted once
    assert await metric(agent, "stampedge_scan_rejections_total", reason="too_long") == 2
    assert await metric(agent, "stampedge_scan_rejections_total", reason="duplicate") == 19_999
    assert await metric(agent, "stampedge_scans_total", outcome="rejected") == 20_004
    overlong = next(r for r in rows if r["reason"] == "too_long")
    assert len(overlong["code"]) <= 65  # a preview, never the whole line
    # The partial "SC12" waits for its terminator and is not a scan yet; the agent serves.
    assert (await _health(agent))["scanners"][0]["state"] == "ok"
    assert (await agent.post("/v1/orders", json={"order_id": "F-1", "total": "5"})).status == 201
    clock.advance(3)
    other = new_card_code()
    await pty_scanner.send(b"\r" + other.encode() + b"\r")
    await eventually(lambda: _count_is(agent, "scan.stamped", 2), what="a scan after the flood")


async def test_given_another_program_holds_the_port_then_health_says_so_until_it_lets_go(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    import serial

    squatter = serial.Serial(str(pty_scanner.link), 9600, exclusive=True)
    try:
        agent = await make_agent(scanner=[_scanner(pty_scanner.link)])
        runner = agent.app[SCANNING].scanners[0].runner
        await eventually(lambda: _is(runner.state == "reconnecting"), what="the refused open")
        assert "lock" in (await _health(agent))["scanners"][0]["detail"]
    finally:
        squatter.close()
    await eventually(lambda: _is(runner.state == "ok"), what="the port to be ours")
    await pty_scanner.scan(new_card_code())
    await eventually(lambda: _count_is(agent, "scan.stamped", 1), what="the stamp")


async def test_given_the_agent_stops_then_its_scanners_stop_and_release_their_ports(
    make_agent: AgentFactory, pty_scanner: PtyScanner
) -> None:
    import serial

    agent = await make_agent(scanner=[_scanner(pty_scanner.link, "autopilot")])
    await _opened(agent)
    channel = agent.app[SCANNING]
    orders = agent.app[ORDERS]
    assert orders.autopilot is channel.service
    assert agent.app[RUNTIME].scanners == channel.scanners
    await agent.close()
    assert channel.scanners[0].runner.state == "stopped"
    assert orders.autopilot is None
    port = serial.Serial(str(pty_scanner.link), 9600, exclusive=True)  # nobody holds it now
    port.close()
