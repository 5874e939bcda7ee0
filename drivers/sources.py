"""Scanner sources: one abstract primitive, "open, then give me the next line", per transport.

Each source owns one device. ``open`` and ``next_line`` raise ``ScannerUnavailable`` when the
device is missing or goes away; the runner (``drivers.runner``) reopens it with backoff. Nothing
here blocks the event loop: serial through pyserial-asyncio-fast, TCP through asyncio streams,
HID through evdev's loop reader (the open itself in a worker thread).
"""

import asyncio
import contextlib
from collections import deque
from typing import Any, Protocol

import serial

from drivers.errors import ScannerConfigError, ScannerUnavailable
from drivers.framing import LineFramer, RawLine, Suffix
from drivers.hid_keymap import HidDecoder, keymap_for

READ_SIZE = 4096


class LineSource(Protocol):
    """A scanner as the agent sees it: lines, one at a time."""

    kind: str

    def describe(self) -> str:
        """Where the device is (for ``/health`` and logs)."""
        ...

    async def open(self) -> None:
        """Open the device; ``ScannerUnavailable`` if it is not there (yet)."""
        ...

    async def next_line(self) -> RawLine:
        """The next complete line; ``ScannerUnavailable`` if the device went away."""
        ...

    async def close(self) -> None:
        """Release the device (safe to call when not open)."""
        ...


class _StreamSource:
    """A byte stream cut into lines: the shared half of the serial and TCP sources."""

    kind = "stream"

    def __init__(self, suffix: Suffix) -> None:
        self._framer = LineFramer(suffix)
        self._ready: deque[RawLine] = deque()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def describe(self) -> str:
        raise NotImplementedError

    async def next_line(self) -> RawLine:
        while not self._ready:
            if self._reader is None:
                raise ScannerUnavailable(f"{self.describe()} is not open")
            try:
                data = await self._reader.read(READ_SIZE)
            except (OSError, serial.SerialException) as err:
                raise ScannerUnavailable(f"{self.describe()} went away: {err}") from err
            if not data:
                raise ScannerUnavailable(f"{self.describe()} closed")
            self._ready.extend(self._framer.feed(data))
        return self._ready.popleft()

    def _opened(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._framer.reset()  # a line cut by an unplug is never completed
        self._ready.clear()

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is None:
            return
        writer.close()
        # The device may already be gone: closing then reports its error, which we knew.
        with contextlib.suppress(OSError, serial.SerialException, ConnectionError):
            await writer.wait_closed()


class SerialSource(_StreamSource):
    """A serial or USB virtual COM port scanner (pyserial-asyncio-fast)."""

    kind = "serial"

    def __init__(self, device: str, *, baudrate: int = 9600, suffix: Suffix = "\r") -> None:
        super().__init__(suffix)
        self.device = device
        self.baudrate = baudrate

    def describe(self) -> str:
        return f"{self.device} at {self.baudrate} baud"

    async def open(self) -> None:
        # Imported here: it costs ~9 MB of memory, which an agent without a serial scanner
        # (most of them) should not pay.
        import serial_asyncio_fast

        try:
            # exclusive: one owner per device; a second agent (or a terminal program) left
            # reading the same port would silently steal scans.
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.device, baudrate=self.baudrate, exclusive=True
            )
        except (OSError, serial.SerialException) as err:
            raise ScannerUnavailable(f"cannot open {self.device}: {err}") from err
        self._opened(reader, writer)


class TcpSource(_StreamSource):
    """A network scanner (or serial device server) that sends its lines over TCP."""

    kind = "tcp"

    def __init__(self, address: str, *, suffix: Suffix = "\r", timeout_s: float = 5.0) -> None:
        super().__init__(suffix)
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ScannerConfigError(f"scanner address must be host:port, not {address!r}")
        self.host, self.port = host.strip("[]"), int(port)
        self.timeout_s = timeout_s

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    async def open(self) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError) as err:
            raise ScannerUnavailable(f"cannot connect to {self.describe()}: {err}") from err
        self._opened(reader, writer)


class HidSource:
    """A USB HID keyboard-wedge scanner on Linux, read through evdev and grabbed exclusively
    so its key presses never reach the till's screen."""

    kind = "hid"

    def __init__(self, device: str, *, layout: str = "us", grab: bool = True) -> None:
        keymap_for(layout)  # an unknown layout is a configuration error, found at start
        self.device = device
        self.layout = layout
        self.grab = grab
        self._dev: Any = None
        self._decoder = HidDecoder.for_layout(layout)
        self._ready: deque[RawLine] = deque()

    def describe(self) -> str:
        return f"{self.device} ({self.layout} layout{', grabbed' if self.grab else ''})"

    async def open(self) -> None:
        try:
            import evdev
        except ImportError as err:  # evdev is Linux-only
            raise ScannerConfigError("HID scanners need the evdev package (Linux)") from err
        try:
            dev: Any = await asyncio.to_thread(_open_input_device, evdev, self.device)
        except OSError as err:
            raise ScannerUnavailable(f"cannot open {self.device}: {err}") from err
        try:
            if self.grab:
                dev.grab()  # EVIOCGRAB: only we get this keyboard's keys
            caps = evdev.ecodes.LED_CAPSL in dev.leds()
        except OSError as err:
            dev.close()
            raise ScannerUnavailable(f"cannot grab {self.device}: {err}") from err
        self._dev = dev
        self._decoder = HidDecoder.for_layout(self.layout, caps_lock=caps)
        self._ready.clear()

    async def next_line(self) -> RawLine:
        while not self._ready:
            if self._dev is None:
                raise ScannerUnavailable(f"{self.device} is not open")
            try:
                events = await self._dev.async_read()
                for event in events:
                    line = self._decoder.feed(event)
                    if line is not None:
                        self._ready.append(line)
            except OSError as err:
                raise ScannerUnavailable(f"{self.device} went away: {err}") from err
        return self._ready.popleft()

    async def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            with contextlib.suppress(OSError):  # already unplugged: nothing left to release
                dev.close()


def _open_input_device(evdev: Any, path: str) -> Any:
    return evdev.InputDevice(path)


class Misconfigured:
    """A scanner whose settings cannot work: it never opens, and says why on ``/health``."""

    def __init__(self, kind: str, problem: str) -> None:
        self.kind = kind
        self.problem = problem

    def describe(self) -> str:
        return self.problem

    async def open(self) -> None:
        raise ScannerConfigError(self.problem)

    async def next_line(self) -> RawLine:
        raise ScannerConfigError(self.problem)

    async def close(self) -> None:
        return None


def make_source(
    kind: str,
    *,
    device: str,
    address: str,
    baudrate: int,
    suffix: Suffix,
    layout: str,
    grab: bool,
) -> LineSource:
    """The source for one ``[[scanner]]`` entry (``Misconfigured`` if it cannot work, so one
    bad entry shows on ``/health`` instead of stopping the agent)."""
    try:
        if kind == "serial":
            return SerialSource(device, baudrate=baudrate, suffix=suffix)
        if kind == "tcp":
            return TcpSource(address, suffix=suffix)
        if kind == "hid":
            return HidSource(device, layout=layout, grab=grab)
    except ScannerConfigError as err:
        return Misconfigured(kind, str(err))
    return Misconfigured(kind, f"unknown scanner kind {kind!r}")
