"""A fake ESC/POS receipt printer: on a real TCP port (like a LAN printer on 9100) or on a pty
(like a serial printer). It parses what it receives into commands, keeps each receipt (text,
native QR payloads, raster images, Star raster lines), answers ``DLE EOT`` like an Epson, and can
play paper out, cover open, offline, error, silence and a disconnect in the middle of a job."""

import asyncio
import os
import time
import tty
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

Mode = Literal[
    "ok", "paper_out", "cover_open", "offline", "error", "no_answer", "disconnect_mid_job"
]
# DLE EOT answers (n = 1 printer, 2 offline cause, 4 roll paper) as a TM-T20-class printer gives.
STATUS: dict[str, dict[int, int]] = {
    "ok": {1: 0x16, 2: 0x12, 4: 0x12},
    "paper_out": {1: 0x1E, 2: 0x32, 4: 0x72},
    "cover_open": {1: 0x1E, 2: 0x16, 4: 0x12},
    "offline": {1: 0x1E, 2: 0x12, 4: 0x12},
    "error": {1: 0x1E, 2: 0x52, 4: 0x12},
}
_ONE_ARG_ESC = set(b"!-EGJMadtpR{V")
# ESC t n -> the characters an Epson TM-T20II prints for bytes 0x80-0xFF (its manual's table).
EPSON_CODE_PAGES: dict[int, str] = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866",
    18: "cp852", 19: "cp858", 34: "cp855", 39: "iso8859_2", 40: "iso8859_15", 44: "cp1125",
    45: "cp1250", 46: "cp1251",
}  # fmt: skip
PAPER_DOTS = 576  # 80 mm paper at 203 dpi; a 58 mm printer has 384
LINE_DOTS = 30  # default line spacing of a TM-T20 (3.75 mm), the smallest Epson default
GLYPH_W, GLYPH_H = 12, 24  # font A


@dataclass
class Command:
    """One parsed command: a short name, its parameter bytes and its data."""

    name: str
    args: bytes = b""
    data: bytes = b""


@dataclass
class FakeReceipt:
    """One job as the printer received it (from ``ESC @`` to the cut)."""

    commands: list[Command] = field(default_factory=list)
    started_at: float = 0.0
    qr_at: float | None = None  # perf_counter when a whole QR (native or raster) had arrived
    complete: bool = False
    connection: int = 0

    @property
    def qr_payloads(self) -> list[str]:
        """Data stored with ``GS ( k`` function 80 (native QR)."""
        return [
            c.data.decode("latin-1") for c in self.commands if c.name == "QR" and c.args == b"P"
        ]

    @property
    def text(self) -> str:
        """The printable text, lines joined with newlines, each byte read in the code page
        ``ESC t`` selected last (as an Epson TM-T20 shows it; page 0, CP437, after ``ESC @``)."""
        out = []
        codec = EPSON_CODE_PAGES[0]
        for c in self.commands:
            if c.name == "ESC @":
                codec = EPSON_CODE_PAGES[0]
            elif c.name == "ESC t":
                codec = EPSON_CODE_PAGES.get(c.args[0], "ascii")
            elif c.name == "TEXT":
                out.append(c.data.decode(codec, "replace"))
            elif c.name == "LF":
                out.append("\n")
        return "".join(out)

    @property
    def code_page(self) -> int | None:
        pages = [c.args[0] for c in self.commands if c.name == "ESC t"]
        return pages[-1] if pages else None

    def raster_images(self) -> list[Image.Image]:
        """Each ``GS v 0`` image as printed dots (double-width/height modes applied)."""
        out = []
        for c in self.commands:
            if c.name != "GS v 0":
                continue
            m, xb, h = c.args[0], c.args[1] | c.args[2] << 8, c.args[3] | c.args[4] << 8
            img = _bits_image(c.data, xb, h)
            sx, sy = (2 if m & 1 else 1), (2 if m & 2 else 1)
            out.append(img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST))
        return out

    def page(self, paper_dots: int = PAPER_DOTS) -> "Page":
        """The paper as this receipt leaves the printer (ESC/POS standard mode, font A).

        Text lines are drawn as solid black boxes as wide as their characters (the worst case
        for a quiet zone), ``GS v 0`` images where justification puts them, and paper moves by
        ``LF`` / ``ESC d`` (default line spacing) and ``ESC J`` (dots). Native QR symbols are
        not drawn. ``Page.images`` gives each raster image's box on the page.
        """
        boxes: list[tuple[int, int, int, int]] = []  # text, black
        placed: list[tuple[int, int, Image.Image]] = []
        y, align, chars = 0, 0, 0

        def x_for(width: int) -> int:
            return {0: 0, 1: (paper_dots - width) // 2, 2: paper_dots - width}[align]

        def print_line() -> None:
            nonlocal chars
            if chars:
                width = min(paper_dots, chars * GLYPH_W)
                x = x_for(width)
                boxes.append((x, y, x + width, y + GLYPH_H))
            chars = 0

        images = iter(self.raster_images())
        for c in self.commands:
            if c.name == "TEXT":
                chars += len(c.data)
            elif c.name == "LF":
                print_line()
                y += LINE_DOTS
            elif c.name == "ESC d":
                print_line()
                y += LINE_DOTS * c.args[0]
            elif c.name == "ESC J":
                print_line()
                y += c.args[0]
            elif c.name == "ESC a":
                align = c.args[0] & 3  # 0/1/2 or '0'/'1'/'2'
            elif c.name == "GS v 0":
                img = next(images)
                if chars:  # a real printer ignores GS v 0 with text waiting in the line
                    continue
                placed.append((x_for(img.width), y, img))
                y += img.height
            elif c.name == "CUT":
                break
        print_line()
        paper = Image.new("L", (paper_dots, y + LINE_DOTS), 255)
        for box in boxes:
            paper.paste(0, box)
        for x, top, img in placed:
            paper.paste(img, (x, top))
        return Page(paper, [(x, top, x + i.width, top + i.height) for x, top, i in placed])

    def star_image(self) -> Image.Image | None:
        """The Star raster lines (and feeds) drawn as the paper would show them."""
        rows: list[bytes] = []
        for c in self.commands:
            if c.name == "STAR b":
                rows.append(c.data)
            elif c.name == "STAR Y":
                rows.extend([b""] * int(c.data or b"0"))
        if not rows:
            return None
        width = max(len(r) for r in rows)
        return _bits_image(b"".join(r.ljust(width, b"\0") for r in rows), width, len(rows))


@dataclass
class Page:
    """A printed receipt as an image of the paper, with where each raster image landed."""

    image: Image.Image
    images: list[tuple[int, int, int, int]]


def _bits_image(data: bytes, width_bytes: int, height: int) -> Image.Image:
    inverted = bytes(b ^ 0xFF for b in data[: width_bytes * height])  # PIL "1": 1 = white
    return Image.frombytes("1", (width_bytes * 8, height), inverted).convert("L")


class Incomplete(Exception):
    """More bytes are needed for the command at the front of the buffer."""


class EscposParser:
    """Incremental parser: ``feed(bytes)`` returns the whole commands received so far."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.star_raster = False

    def feed(self, data: bytes) -> list[Command]:
        self.buf += data
        out: list[Command] = []
        while self.buf:
            try:
                cmd, used = self._one(bytes(self.buf))
            except Incomplete:
                break
            del self.buf[:used]
            out.append(cmd)
        return out

    def _need(self, b: bytes, n: int) -> None:
        if len(b) < n:
            raise Incomplete

    def _one(self, b: bytes) -> tuple[Command, int]:
        first = b[0]
        if first == 0x10:
            self._need(b, 3)
            if b[1] == 0x04:
                return Command("DLE EOT", b[2:3]), 3
            return Command("DLE", b[1:3]), 3
        if first == 0x1B:
            return self._esc(b)
        if first == 0x1D:
            return self._gs(b)
        if first == 0x0A:
            return Command("LF"), 1
        if self.star_raster and first == ord("b"):
            self._need(b, 3)
            n = b[1] | b[2] << 8
            self._need(b, 3 + n)
            return Command("STAR b", data=b[3 : 3 + n]), 3 + n
        end = 1
        while end < len(b) and b[end] >= 0x20 and b[end] != 0x7F:
            end += 1
        return Command("TEXT", data=b[:end]), end

    def _esc(self, b: bytes) -> tuple[Command, int]:
        self._need(b, 2)
        c = b[1]
        if c == ord("@"):
            return Command("ESC @"), 2
        if c == 0x0C:  # Star raster form feed: ESC FF NUL
            self._need(b, 3)
            return Command("STAR FF"), 3
        if c == ord("*"):
            self._need(b, 4)
            if b[2] != ord("r"):
                raise ValueError(f"unsupported ESC * {b[2]:#x}")
            op = chr(b[3])
            if op in "RAB":
                self.star_raster = op == "A" or (self.star_raster and op == "R")
                if op == "B":
                    self.star_raster = False
                return Command(f"STAR {op}"), 4
            end = b.find(b"\0", 4)
            if end < 0:
                raise Incomplete
            return Command(f"STAR {op}", data=b[4:end]), end + 1
        if c in _ONE_ARG_ESC:
            self._need(b, 3)
            return Command(f"ESC {chr(c)}", b[2:3]), 3
        raise ValueError(f"unsupported ESC {c:#x}")

    def _gs(self, b: bytes) -> tuple[Command, int]:
        self._need(b, 2)
        c = b[1]
        if c == ord("("):
            self._need(b, 5)
            n = b[3] | b[4] << 8
            self._need(b, 5 + n)
            body = b[5 : 5 + n]
            if b[2] == ord("k") and body[:1] == b"1":
                fn = body[1:2]
                if fn == b"P":  # store: m then the data
                    return Command("QR", fn, body[3:]), 5 + n
                return Command("QR", fn, body[2:]), 5 + n
            return Command(f"GS ( {chr(b[2])}", data=body), 5 + n
        if c == ord("v"):
            self._need(b, 8)
            xb, h = b[4] | b[5] << 8, b[6] | b[7] << 8
            self._need(b, 8 + xb * h)
            return Command("GS v 0", b[3:8], b[8 : 8 + xb * h]), 8 + xb * h
        if c == ord("V"):
            self._need(b, 3)
            if b[2] in (65, 66):
                self._need(b, 4)
                return Command("CUT", b[2:4]), 4
            return Command("CUT", b[2:3]), 3
        if c in (ord("!"), ord("B"), ord("L")):
            self._need(b, 3 if c != ord("L") else 4)
            return Command(f"GS {chr(c)}", b[2 : 3 if c != ord("L") else 4]), 3 if c != ord(
                "L"
            ) else 4
        raise ValueError(f"unsupported GS {c:#x}")


class FakePrinterCore:
    """What the printer does with bytes, whatever the wire: parse, record, answer status."""

    def __init__(self) -> None:
        self.mode: Mode = "ok"
        self.receipts: list[FakeReceipt] = []
        self.status_queries: list[int] = []
        self.connections = 0
        self.open_connections = 0
        self.max_open_connections = 0
        self.bytes_received = 0
        self.drop_after_bytes = 40  # disconnect_mid_job: bytes of a job taken before the drop
        self.changed = asyncio.Event()
        self._current: FakeReceipt | None = None
        self._parsers: dict[int, EscposParser] = {}
        self._job_bytes: dict[int, int] = {}

    def connect(self) -> int:
        self.connections += 1
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        self._parsers[self.connections] = EscposParser()
        return self.connections

    def disconnect(self, conn: int) -> None:
        self.open_connections -= 1
        self._parsers.pop(conn, None)
        if self._current is not None and self._current.connection == conn:
            self._current = None  # an unfinished job stays in receipts with complete=False
        self.changed.set()

    def feed(self, conn: int, data: bytes) -> tuple[bytes, bool]:
        """Handle received bytes; returns (answer bytes, drop the connection now)."""
        self.bytes_received += len(data)
        data, drop = self._maybe_cut(conn, data)
        answers = bytearray()
        for cmd in self._parsers[conn].feed(data):
            if cmd.name == "DLE EOT":
                n = cmd.args[0]
                self.status_queries.append(n)
                if self.mode in STATUS:
                    answers.append(STATUS[self.mode][n])
                elif self.mode == "disconnect_mid_job":
                    answers.append(STATUS["ok"][n])
                continue
            if cmd.name == "ESC @":
                self._current = FakeReceipt(started_at=time.perf_counter(), connection=conn)
                self.receipts.append(self._current)
            rec = self._current
            if rec is None:
                continue
            rec.commands.append(cmd)
            if rec.qr_at is None and (
                (cmd.name == "QR" and cmd.args == b"P") or cmd.name in ("GS v 0", "STAR b")
            ):
                rec.qr_at = time.perf_counter()
            if cmd.name in ("CUT", "STAR B"):
                rec.complete = True
                self._current = None
                self.changed.set()
        return bytes(answers), drop

    def _maybe_cut(self, conn: int, data: bytes) -> tuple[bytes, bool]:
        """disconnect_mid_job: keep only ``drop_after_bytes`` of a job, then drop the line."""
        if self.mode != "disconnect_mid_job":
            return data, False
        taken = self._job_bytes.get(conn)
        if taken is None:
            start = data.find(b"\x1b@")
            if start < 0:
                return data, False
            taken, keep_from = 0, start
        else:
            keep_from = 0
        room = self.drop_after_bytes - taken
        chunk = data[keep_from:]
        if len(chunk) >= room:
            self._job_bytes.pop(conn, None)
            return data[: keep_from + room], True
        self._job_bytes[conn] = taken + len(chunk)
        return data, False

    @property
    def complete(self) -> list[FakeReceipt]:
        return [r for r in self.receipts if r.complete]

    async def wait_receipts(self, n: int, timeout: float = 15.0) -> list[FakeReceipt]:
        """Wait until ``n`` whole receipts have arrived (fails the test after ``timeout``)."""
        async with asyncio.timeout(timeout):
            while len(self.complete) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.complete


class TcpFakePrinter(FakePrinterCore):
    """The fake printer on ``127.0.0.1:<free port>``, one connection handled at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.greeting = b""
        self.refuse_connections = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> "TcpFakePrinter":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.connect()
        if self.refuse_connections > 0:  # busy with someone else, or a Wi-Fi hiccup: RST
            self.refuse_connections -= 1
            self.disconnect(conn)
            writer.transport.abort()
            return
        try:
            if self.greeting:  # e.g. automatic status back, sent unasked on connect
                writer.write(self.greeting)
            while data := await reader.read(65536):
                answer, drop = self.feed(conn, data)
                if drop:
                    writer.transport.abort()  # a pulled cable / printer power cut: RST
                    return
                if answer:
                    writer.write(answer)
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.disconnect(conn)
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class PtyFakePrinter(FakePrinterCore):
    """The fake printer at the far end of a pty: the agent opens ``device`` as a serial port."""

    def __init__(self) -> None:
        super().__init__()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # a serial line: binary, no echo, no CR/LF translation
        tty.setraw(self.master)
        self.device = os.ttyname(self.slave)
        self._conn = self.connect()
        asyncio.get_running_loop().add_reader(self.master, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return
        answer, _ = self.feed(self._conn, data)
        if answer:
            os.write(self.master, answer)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)
