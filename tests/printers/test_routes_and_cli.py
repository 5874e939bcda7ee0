"""The receipt QR for POS software that prints itself (PNG, SVG, ESC/POS), the file printer's
``.bin`` + PNG preview, and ``stampedge printer test``."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from agent.cli import main as stampedge
from agent.printing.channel import PRINTING
from tests.fakes.escpos_printer import EscposParser, TcpFakePrinter
from tests.printers.conftest import AgentFactory, place, printer_section, wait_job


def decode(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img)]


async def test_no_printer_leaves_the_profile_database_until_a_route_needs_it(
    make_agent: AgentFactory,
) -> None:
    # python-escpos's profiles cost ~0.4 s and ~4 MB: an agent without a printer (the idle RSS
    # and start-up goals) must not load them at start, and the QR route still works later.
    client = await make_agent()
    channel = client.app[PRINTING].channel
    assert channel is not None and not channel.service.enabled
    assert channel.service._caps is None
    await place(client, "LAZY-1")
    resp = await client.get("/v1/orders/LAZY-1/qr.escpos")
    assert resp.status == 200
    assert channel.service._caps is not None and channel.service._caps.qr_mode == "native"


async def test_given_no_printer_and_an_unknown_profile_then_the_escpos_qr_says_why(
    make_agent: AgentFactory,
) -> None:
    client = await make_agent(printer={"kind": "none", "profile": "NoSuchModel"})
    await place(client, "BADPROF-1")
    resp = await client.get("/v1/orders/BADPROF-1/qr.escpos")
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "printer_config"
    assert "NoSuchModel" in error["message"]
    assert (await client.get("/v1/orders/BADPROF-1/qr.png")).status == 200


async def test_qr_png_svg_escpos_of_an_order(make_agent: AgentFactory) -> None:
    client = await make_agent()
    answer = await place(client, "Q-1")
    url = answer["claim"]["url"]

    resp = await client.get("/v1/orders/Q-1/qr.png?scale=6")
    assert resp.status == 200 and resp.content_type == "image/png"
    assert decode(Image.open(io.BytesIO(await resp.read()))) == [url]

    resp = await client.get("/v1/orders/Q-1/qr.svg")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    svg = await resp.text()
    assert "<path" in svg and url in svg

    resp = await client.get("/v1/orders/Q-1/qr.escpos")
    assert resp.status == 200
    cmds = EscposParser().feed(await resp.read())
    assert [c.data.decode() for c in cmds if c.name == "QR" and c.args == b"P"] == [url]

    resp = await client.get("/v1/orders/Q-1/qr.escpos?mode=image")
    cmds = EscposParser().feed(await resp.read())
    assert [c.name for c in cmds].count("GS v 0") == 1

    assert (await client.get("/v1/orders/Q-1/qr.png?scale=0")).status == 422
    assert (await client.get("/v1/orders/Q-1/qr.escpos?mode=x")).status == 422


@pytest.mark.parametrize("fmt", ["png", "svg", "escpos"])
async def test_qr_routes_404_for_unknown_order_no_claim_or_voided(
    make_agent: AgentFactory, fmt: str
) -> None:
    client = await make_agent()
    resp = await client.get(f"/v1/orders/nope/qr.{fmt}")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "unknown_order"
    await client.post("/v1/orders", json={"order_id": "NQ", "total": "30", "receipt_qr": False})
    resp = await client.get(f"/v1/orders/NQ/qr.{fmt}")
    assert resp.status == 404
    assert (await resp.json())["error"] == {
        "code": "no_receipt_qr",
        "message": "order NQ has no receipt QR (customer known, or no stamps)",
        "field": "order_id",
    }
    await place(client, "VQ")
    await client.post("/v1/orders/VQ/void", json={})
    resp = await client.get(f"/v1/orders/VQ/qr.{fmt}")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "no_receipt_qr"


async def test_file_printer_writes_bin_and_a_scannable_png_preview(
    make_agent: AgentFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "receipts"
    client = await make_agent(printer={"kind": "file", "path": str(folder)})
    answer = await place(client, "FP-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "confirmed"
    job_id = answer["print"]["job_id"]
    data = (folder / f"{job_id}.bin").read_bytes()
    cmds = EscposParser().feed(data)
    assert cmds[0].name == "ESC @" and cmds[-1].name == "CUT"
    assert [c.data.decode() for c in cmds if c.name == "QR" and c.args == b"P"] == [
        answer["claim"]["url"]
    ]
    assert decode(Image.open(folder / f"{job_id}.png")) == [answer["claim"]["url"]]
    health = await (await client.get("/health")).json()
    assert health["printer"]["state"] == "ok"


def _write_config(tmp_path: Path, printer: dict[str, Any], listen_port: int) -> Path:
    lines = [
        "[agent]",
        f'listen = "127.0.0.1:{listen_port}"',
        f'data_dir = "{tmp_path / "data"}"',
        "[cloud]",
        'device_secret = "test-device-secret-0123456789abcdef"',
        'device_key = "sk_7_testkey"',
        "[printer]",
    ]
    for k, v in printer.items():
        lines.append(f"{k} = {json.dumps(v)}")
    path = tmp_path / "agent.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_cli_printer_test_prints_directly_when_no_agent_runs(
    printer: TcpFakePrinter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tests.conftest import free_port

    port = free_port()
    cfg = _write_config(tmp_path, printer_section(printer), port)
    code = await asyncio.to_thread(stampedge, ["printer", "test", "--config", str(cfg)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["via"] == "direct" and out["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert "Stampedge printer test" in receipt.text
    assert f"Agent: http://127.0.0.1:{port}/" in receipt.text
    assert receipt.qr_payloads == [f"HTTP://127.0.0.1:{port}/"]


async def test_cli_printer_test_reports_paper_out(
    printer: TcpFakePrinter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tests.conftest import free_port

    printer.mode = "paper_out"
    cfg = _write_config(tmp_path, printer_section(printer), free_port())
    code = await asyncio.to_thread(stampedge, ["printer", "test", "--config", str(cfg)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["reason"] == "paper_out"
    assert printer.complete == []


async def test_cli_printer_test_goes_through_the_running_agent(
    printer: TcpFakePrinter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from aiohttp.test_utils import TestServer

    from agent.http.app import build_app
    from config import load_agent_settings
    from tests.conftest import free_port

    port = free_port()
    cfg = _write_config(tmp_path, printer_section(printer), port)
    settings = await asyncio.to_thread(load_agent_settings, cfg)  # read off the loop
    server = TestServer(build_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        code = await asyncio.to_thread(stampedge, ["printer", "test", "--config", str(cfg)])
    finally:
        await server.close()
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["via"] == "agent" and out["kind"] == "test" and out["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [f"HTTP://127.0.0.1:{port}/"]


async def test_cli_printer_test_on_a_file_printer_writes_bin_and_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tests.conftest import free_port

    folder = tmp_path / "receipts"
    cfg = _write_config(tmp_path, {"kind": "file", "path": str(folder)}, free_port())
    code = await asyncio.to_thread(stampedge, ["printer", "test", "--config", str(cfg)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "confirmed", out
    assert (folder / "self-test.bin").read_bytes().startswith(b"\x1b@")
    assert decode(Image.open(folder / "self-test.png"))[0].startswith("HTTP://127.0.0.1:")


@pytest.mark.parametrize(
    ("mode", "state", "code"), [("ok", "ok", 0), ("cover_open", "cover_open", 1)]
)
async def test_cli_printer_status_shows_the_dle_eot_answer(
    printer: TcpFakePrinter,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: Any,
    state: str,
    code: int,
) -> None:
    import asyncio

    from tests.conftest import free_port

    printer.mode = mode
    cfg = _write_config(tmp_path, printer_section(printer), free_port())
    got = await asyncio.to_thread(stampedge, ["printer", "status", "--config", str(cfg)])
    out = json.loads(capsys.readouterr().out)
    assert (got, out["state"]) == (code, state)
