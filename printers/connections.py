"""Printer connections: they only move bytes (network 9100, serial, USB, CUPS, file), build nothing.

Every kind offers the same small contract (``Connection``): open for one job, write, read what
the printer answers (with a deadline), close. Blocking libraries (python-escpos's ``Usb``, file
writes) run in ``asyncio.to_thread`` so the event loop never waits on a device.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from config.agent import PrinterSettings
from printers.errors import PrinterConfigError, PrinterUnavailable

log = logging.getLogger(__name__)


class Connection(Protocol):
    """One printer link, opened per job (a printer serves one connection at a time)."""

    kind: str
    answers_status: bool  # False: the printer cannot be asked (a file); status is then "ok"

    def describe(self) -> str:
        """Where the printer is, for people: ``10.0.0.7:9100``, ``/dev/ttyUSB0 @ 9600``."""
        ...

    def transfer_s(self, nbytes: int) -> float:
        """How long ``nbytes`` take on the wire (slow serial lines), added to timeouts."""
        ...

    async def open(self, job_name: str) -> None:
        """Connect; ``PrinterUnavailable("unreachable")`` if the printer cannot be reached."""
        ...

    async def write(self, data: bytes) -> None:
        """Send ``data``; ``PrinterUnavailable("disconnected"|"write_timeout")`` on failure."""
        ...

    async def read(self, max_bytes: int, wait_s: float) -> bytes:
        """What the printer sent within ``wait_s`` (maybe ``b""``); EOF is ``disconnected``."""
        ...

    async def close(self) -> None:
        """Release the printer (never raises)."""
        ...


class StreamConnection:
    """A connection over asyncio streams: the shared part of network and serial printers."""

    kind = "stream"
    answers_status = True

    def __init__(self, settings: PrinterSettings) -> None:
        self.settings = settings
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def describe(self) -> str:
        return self.kind

    def transfer_s(self, nbytes: int) -> float:
        return 0.0

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        raise NotImplementedError

    async def open(self, job_name: str) -> None:
        del job_name
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                self._reader, self._writer = await self._connect()
        except TimeoutError as err:
            raise PrinterUnavailable(
                "unreachable",
                f"no connection to {self.describe()} within {self.settings.connect_timeout_s:g} s",
            ) from err
        except (OSError, ValueError) as err:  # pyserial's SerialException is an OSError
            raise PrinterUnavailable(
                "unreachable", f"cannot open {self.describe()}: {err}"
            ) from err

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            raise PrinterUnavailable("disconnected", "the printer connection is not open")
        timeout = self.settings.write_timeout_s + self.transfer_s(len(data))
        try:
            self._writer.write(data)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as err:
            raise PrinterUnavailable(
                "write_timeout", f"{self.describe()} took more than {timeout:g} s to take the job"
            ) from err
        except OSError as err:
            raise PrinterUnavailable(
                "disconnected", f"{self.describe()} dropped the connection: {err}"
            ) from err

    async def read(self, max_bytes: int, wait_s: float) -> bytes:
        if self._reader is None:
            raise PrinterUnavailable("disconnected", "the printer connection is not open")
        try:
            async with asyncio.timeout(wait_s):
                data = await self._reader.read(max_bytes)
        except TimeoutError:
            return b""
        except OSError as err:
            raise PrinterUnavailable(
                "disconnected", f"{self.describe()} dropped the connection: {err}"
            ) from err
        if not data:
            raise PrinterUnavailable("disconnected", f"{self.describe()} closed the connection")
        return data

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(self.settings.write_timeout_s):
                await writer.wait_closed()


class NetworkConnection(StreamConnection):
    """A LAN printer on raw TCP (port 9100, "JetDirect")."""

    kind = "network"

    def __init__(self, settings: PrinterSettings) -> None:
        super().__init__(settings)
        host, _, port = settings.address.rpartition(":")
        if not host:
            host, port = settings.address, "9100"
        if not port.isdigit():
            raise PrinterConfigError(f"printer.address: {settings.address!r} is not host:port")
        self.host, self.port = host.strip("[]"), int(port)

    def describe(self) -> str:
        return f"{self.host}:{self.port}"

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)


class SerialConnection(StreamConnection):
    """A printer on a serial line (RS-232 or a USB virtual COM port), pyserial-asyncio-fast."""

    kind = "serial"

    def describe(self) -> str:
        s = self.settings
        flow = "" if s.flow_control == "none" else f" {s.flow_control}"
        return f"{s.device} @ {s.baudrate}{flow}"

    def transfer_s(self, nbytes: int) -> float:
        return nbytes * 10 / self.settings.baudrate  # 8N1: ten bits a byte

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        import serial_asyncio_fast

        fc = self.settings.flow_control
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=self.settings.device,
            baudrate=self.settings.baudrate,
            xonxoff=fc == "xonxoff",
            rtscts=fc == "rtscts",
            dsrdtr=fc == "dsrdtr",
            exclusive=True,
        )
        return reader, writer


UsbFactory = Callable[[PrinterSettings], Any]


def _escpos_usb(settings: PrinterSettings) -> Any:
    from escpos.printer import Usb

    timeout_ms = int(settings.write_timeout_s * 1000)
    return Usb(settings.vendor_id, settings.product_id, timeout=timeout_ms)


class UsbConnection:
    """A USB printer through python-escpos's ``Usb`` (pyusb), every call off the event loop."""

    kind = "usb"
    answers_status = True

    def __init__(self, settings: PrinterSettings, factory: UsbFactory = _escpos_usb) -> None:
        self.settings = settings
        self._factory = factory
        self._dev: Any = None

    def describe(self) -> str:
        return f"usb {self.settings.vendor_id:04x}:{self.settings.product_id:04x}"

    def transfer_s(self, nbytes: int) -> float:
        return 0.0

    def _open_blocking(self) -> Any:
        dev = self._factory(self.settings)
        dev.open()
        return dev

    async def open(self, job_name: str) -> None:
        del job_name
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                self._dev = await asyncio.to_thread(self._open_blocking)
        except TimeoutError as err:
            raise PrinterUnavailable("unreachable", f"{self.describe()} did not open") from err
        except Exception as err:  # pyusb and python-escpos raise their own hierarchies
            raise PrinterUnavailable(
                "unreachable", f"cannot open {self.describe()}: {err}"
            ) from err

    async def write(self, data: bytes) -> None:
        if self._dev is None:
            raise PrinterUnavailable("disconnected", "the USB printer is not open")
        try:
            await asyncio.to_thread(self._dev._raw, data)
        except Exception as err:  # usb.core.USBError (timeout or unplugged)
            reason = "write_timeout" if "timeout" in type(err).__name__.lower() else "disconnected"
            raise PrinterUnavailable(reason, f"{self.describe()}: {err}") from err

    def _read_blocking(self, max_bytes: int, wait_s: float) -> bytes:
        try:
            got = self._dev.device.read(self._dev.in_ep, max_bytes, int(wait_s * 1000))
        except Exception as err:
            if "timeout" in type(err).__name__.lower():
                return b""
            raise PrinterUnavailable("disconnected", f"{self.describe()}: {err}") from err
        return bytes(got)

    async def read(self, max_bytes: int, wait_s: float) -> bytes:
        if self._dev is None:
            raise PrinterUnavailable("disconnected", "the USB printer is not open")
        return await asyncio.to_thread(self._read_blocking, max_bytes, wait_s)

    async def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            with contextlib.suppress(Exception):  # releasing a gone device may fail; it is gone
                await asyncio.to_thread(dev.close)


def _escpos_cups(settings: PrinterSettings) -> Any:
    from escpos.printer import CupsPrinter

    host, _, port = settings.cups_server.rpartition(":")
    if not host or not port.isdigit():
        host, port = settings.cups_server, "631"
    return CupsPrinter(settings.cups_queue, host=host, port=int(port))


class CupsConnection:
    """A printer behind a CUPS queue, as a raw job (python-escpos's ``CupsPrinter``, pycups).

    CUPS owns the device, so the printer cannot be asked DLE EOT: a job ends ``sent`` when
    CUPS has taken it (``lpstat -o`` follows it from there), as with a file printer. The bytes
    are gathered while the job is written and handed to CUPS as one job when it is closed.
    """

    kind = "cups"
    answers_status = False

    def __init__(self, settings: PrinterSettings, factory: UsbFactory = _escpos_cups) -> None:
        self.settings = settings
        self._factory = factory
        self._dev: Any = None

    def describe(self) -> str:
        return f"cups {self.settings.cups_queue or '(default queue)'}@{self.settings.cups_server}"

    def transfer_s(self, nbytes: int) -> float:
        return 0.0

    def _open_blocking(self, job_name: str) -> Any:
        dev = self._factory(self.settings)
        dev.open(job_name=job_name)
        return dev

    async def open(self, job_name: str) -> None:
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                self._dev = await asyncio.to_thread(self._open_blocking, job_name)
        except TimeoutError as err:
            raise PrinterUnavailable("unreachable", f"{self.describe()} did not answer") from err
        except Exception as err:  # pycups' IPPError / RuntimeError, escpos' DeviceNotFoundError
            raise PrinterUnavailable(
                "unreachable", f"cannot start a job on {self.describe()}: {err}"
            ) from err

    async def write(self, data: bytes) -> None:
        if self._dev is None:
            raise PrinterUnavailable("disconnected", "no CUPS job is open")
        await asyncio.to_thread(self._dev._raw, data)

    async def read(self, max_bytes: int, wait_s: float) -> bytes:
        await asyncio.sleep(wait_s)  # CUPS relays no status bytes
        return b""

    async def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is None:
            return
        try:
            await asyncio.to_thread(dev.close)  # hands the gathered job to CUPS
        except Exception as err:  # noqa: BLE001 - close never raises (the contract); logged
            log.error("%s did not take the job: %s", self.describe(), err)


class FileConnection:
    """A printer that is a folder: each job is ``<job>.bin`` (the bytes) beside a PNG preview."""

    kind = "file"
    answers_status = False

    def __init__(self, settings: PrinterSettings) -> None:
        self.settings = settings
        self.folder = settings.path
        self._file: Path | None = None

    def describe(self) -> str:
        return str(self.folder)

    def transfer_s(self, nbytes: int) -> float:
        return 0.0

    async def open(self, job_name: str) -> None:
        path = self.folder / f"{job_name}.bin"
        try:
            await asyncio.to_thread(self._start, path)
        except OSError as err:
            raise PrinterUnavailable("unreachable", f"cannot write {path}: {err}") from err
        self._file = path

    @staticmethod
    def _start(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")

    @staticmethod
    def _append(path: Path, data: bytes) -> None:
        with path.open("ab") as f:
            f.write(data)

    async def write(self, data: bytes) -> None:
        if self._file is None:
            raise PrinterUnavailable("disconnected", "no job file is open")
        try:
            await asyncio.to_thread(self._append, self._file, data)
        except OSError as err:
            raise PrinterUnavailable("disconnected", f"cannot write {self._file}: {err}") from err

    async def save_preview(self, png: bytes) -> Path | None:
        """Store the receipt's PNG preview beside the job's bytes."""
        if self._file is None:
            return None
        target = self._file.with_suffix(".png")
        await asyncio.to_thread(target.write_bytes, png)
        return target

    async def read(self, max_bytes: int, wait_s: float) -> bytes:
        await asyncio.sleep(wait_s)  # a file never answers; do not let a caller spin
        return b""

    async def close(self) -> None:
        self._file = None


def make_connection(settings: PrinterSettings) -> Connection | None:
    """The connection for ``[printer]``; None when ``kind = "none"``."""
    if settings.kind == "network":
        return NetworkConnection(settings)
    if settings.kind == "serial":
        return SerialConnection(settings)
    if settings.kind == "usb":
        if not settings.vendor_id or not settings.product_id:
            raise PrinterConfigError("printer.vendor_id and printer.product_id are needed for usb")
        return UsbConnection(settings)
    if settings.kind == "cups":
        return CupsConnection(settings)
    if settings.kind == "file":
        return FileConnection(settings)
    return None
