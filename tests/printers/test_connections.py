"""One contract for every printer connection (network, serial, USB, file): open for a job, send
bytes, read the printer's answer, close; an unreachable printer is ``unreachable``."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.agent import PrinterSettings
from printers.connections import (
    Connection,
    FileConnection,
    NetworkConnection,
    SerialConnection,
    UsbConnection,
)
from printers.errors import PrinterUnavailable
from printers.service import STATUS_REQUEST, query_status
from tests.conftest import free_port
from tests.fakes.escpos_printer import FakePrinterCore, PtyFakePrinter, TcpFakePrinter

JOB = b"\x1b@\x1bt\x13hello\n\x1dVA\x03"


class FakeUsbDevice:
    """python-escpos's ``Usb`` at the library boundary: pyusb and a real device cannot run here.

    It feeds what it is given to the same fake printer core and hands back the answers.
    """

    in_ep = 0x82

    def __init__(self, core: FakePrinterCore, present: bool = True) -> None:
        self.core, self.present = core, present
        self.conn = 0
        self.pending = b""
        self.device = self

    def open(self) -> None:
        if not self.present:
            raise OSError("Device not found or cable not plugged in.")
        self.conn = self.core.connect()

    def _raw(self, data: bytes) -> None:
        answer, _ = self.core.feed(self.conn, data)
        self.pending += answer

    def read(self, ep: int, size: int, timeout_ms: int) -> bytes:
        if not self.pending:
            raise type("USBTimeoutError", (Exception,), {})("timed out")
        got, self.pending = self.pending[:size], self.pending[size:]
        return got

    def close(self) -> None:
        self.core.disconnect(self.conn)


@dataclass
class Rig:
    """A connection and the fake printer behind it."""

    conn: Connection
    core: FakePrinterCore | None  # None: the file printer (nobody to ask)
    folder: Path | None = None


@pytest.fixture(params=["network", "serial", "usb", "file"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    kind = request.param
    if kind == "network":
        fake = await TcpFakePrinter().start()
        yield Rig(NetworkConnection(PrinterSettings(kind="network", address=fake.address)), fake)
        await fake.stop()
    elif kind == "serial":
        pty = PtyFakePrinter()
        s = PrinterSettings(kind="serial", device=pty.device, baudrate=115200)
        yield Rig(SerialConnection(s), pty)
        pty.close()
    elif kind == "usb":
        core = FakePrinterCore()
        s = PrinterSettings(kind="usb", vendor_id=0x04B8, product_id=0x0202)
        yield Rig(UsbConnection(s, factory=lambda _s: FakeUsbDevice(core)), core)
    else:
        s = PrinterSettings(kind="file", path=tmp_path / "receipts")
        yield Rig(FileConnection(s), None, tmp_path / "receipts")


async def test_contract_a_job_goes_through_and_status_is_answered(rig: Rig) -> None:
    wait_s = 0.2 if rig.core is None else 2.0  # nobody answers a file: do not wait long
    await rig.conn.open("job-1")
    try:
        state = await query_status(rig.conn, wait_s)
        await rig.conn.write(JOB)
        after = await query_status(rig.conn, wait_s)
    finally:
        await rig.conn.close()
    if rig.core is None:
        assert rig.folder is not None
        assert (rig.folder / "job-1.bin").read_bytes() == STATUS_REQUEST + JOB + STATUS_REQUEST
        assert state.state == "unknown"  # a file never says "ok" to a status query
        return
    assert (state.state, after.state) == ("ok", "ok")
    [receipt] = await rig.core.wait_receipts(1)
    assert receipt.text.strip() == "hello"


async def test_contract_close_twice_is_harmless(rig: Rig) -> None:
    await rig.conn.open("job-2")
    await rig.conn.close()
    await rig.conn.close()


async def test_contract_silent_printer_answers_nothing_not_ok(rig: Rig) -> None:
    if rig.core is None:
        pytest.skip("a file printer has nobody to ask")
    rig.core.mode = "no_answer"
    await rig.conn.open("job-3")
    try:
        state = await query_status(rig.conn, 0.2)
    finally:
        await rig.conn.close()
    assert state.state == "unknown"


async def test_unreachable_network_printer(tmp_path: Path) -> None:
    conn = NetworkConnection(
        PrinterSettings(kind="network", address=f"127.0.0.1:{free_port()}", connect_timeout_s=1)
    )
    with pytest.raises(PrinterUnavailable) as err:
        await conn.open("x")
    assert err.value.reason == "unreachable"


async def test_missing_serial_device(tmp_path: Path) -> None:
    conn = SerialConnection(PrinterSettings(kind="serial", device=str(tmp_path / "ttyNone")))
    with pytest.raises(PrinterUnavailable) as err:
        await conn.open("x")
    assert err.value.reason == "unreachable"


async def test_unplugged_usb_printer() -> None:
    core = FakePrinterCore()
    s = PrinterSettings(kind="usb", vendor_id=1, product_id=2)
    conn = UsbConnection(s, factory=lambda _s: FakeUsbDevice(core, present=False))
    with pytest.raises(PrinterUnavailable) as err:
        await conn.open("x")
    assert err.value.reason == "unreachable"


async def test_network_printer_dropping_the_line_mid_job_is_disconnected() -> None:
    fake = await TcpFakePrinter().start()
    fake.mode = "disconnect_mid_job"
    fake.drop_after_bytes = 10
    conn = NetworkConnection(PrinterSettings(kind="network", address=fake.address))
    try:
        await conn.open("x")
        with pytest.raises(PrinterUnavailable) as err:
            await conn.write(JOB * 50)
            await query_status(conn, 2.0)
        assert err.value.reason == "disconnected"
    finally:
        await conn.close()
        await fake.stop()


async def test_usb_calls_run_off_the_event_loop() -> None:
    core = FakePrinterCore()
    threads: list[Any] = []

    class Watching(FakeUsbDevice):
        def _raw(self, data: bytes) -> None:
            import threading

            threads.append(threading.current_thread())
            super()._raw(data)

    s = PrinterSettings(kind="usb", vendor_id=1, product_id=2)
    conn = UsbConnection(s, factory=lambda _s: Watching(core))
    await conn.open("x")
    await conn.write(JOB)
    await conn.close()
    import threading

    assert threads and threads[0] is not threading.main_thread()
    await asyncio.sleep(0)


@pytest.mark.parametrize("flow", ["none", "xonxoff", "rtscts", "dsrdtr"])
async def test_serial_port_opens_with_the_configured_baud_rate_and_flow_control(
    flow: Any,
) -> None:
    pty = PtyFakePrinter()
    conn = SerialConnection(
        PrinterSettings(kind="serial", device=pty.device, baudrate=38400, flow_control=flow)
    )
    try:
        await conn.open("x")
        assert conn._writer is not None
        port = conn._writer.transport.serial  # type: ignore[attr-defined]
        assert port.baudrate == 38400
        assert (port.xonxoff, port.rtscts, port.dsrdtr) == (
            flow == "xonxoff",
            flow == "rtscts",
            flow == "dsrdtr",
        )
        assert conn.transfer_s(3840) == pytest.approx(1.0)  # ten bits a byte on the line
    finally:
        await conn.close()
        pty.close()
