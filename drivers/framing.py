"""Cutting a scanner's byte stream into lines (pure, fed like aiohttp's parser: no I/O).

A scanner ends each read with a suffix (CR, LF or CRLF). Lines longer than ``MAX_LINE`` bytes
are not kept in memory: the framer drops their bytes up to the next terminator and yields one
``Overlong`` marker, so a scanner spewing garbage cannot grow the agent's memory.
"""

from dataclasses import dataclass
from typing import Literal

MAX_LINE = 512
Suffix = Literal["\r", "\n", "\r\n"]


@dataclass(frozen=True, slots=True)
class Overlong:
    """A line longer than the limit; ``head`` is its first bytes, for the scan log."""

    head: bytes
    size: int


RawLine = bytes | Overlong


class LineFramer:
    """Feed bytes, get complete lines (without their terminator) or ``Overlong`` markers.

    Any of CR and LF ends a line whatever the configured suffix, and the empty line a CRLF
    leaves between its two bytes is skipped: a scanner set to CRLF, CR or LF all read the same,
    so a suffix mismatch between the scanner and the config never glues two scans together.
    ``suffix`` is kept to say what the scanner is configured to send.
    """

    def __init__(self, suffix: Suffix = "\r", max_line: int = MAX_LINE) -> None:
        self.suffix = suffix
        self.max_line = max_line
        self._buf = bytearray()
        self._dropped = 0  # bytes of an over-long line dropped so far (0: not dropping)

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held (a partial read waiting for its terminator)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[RawLine]:
        """Add ``data``; return the lines it completed, in order."""
        out: list[RawLine] = []
        start = 0
        n = len(data)
        while start < n:
            end = _next_terminator(data, start)
            chunk = data[start:end] if end >= 0 else data[start:]
            self._take(chunk)
            if end < 0:
                break
            self._finish(out)
            start = end + 1
        return out

    def reset(self) -> None:
        """Forget a partial line (the device was closed: its tail will never come)."""
        self._buf.clear()
        self._dropped = 0

    def _take(self, chunk: bytes) -> None:
        if self._dropped:
            self._dropped += len(chunk)
            return
        if len(self._buf) + len(chunk) > self.max_line:
            self._dropped = len(self._buf) + len(chunk)
            self._buf.extend(chunk[: max(0, self.max_line - len(self._buf))])
            return
        self._buf.extend(chunk)

    def _finish(self, out: list[RawLine]) -> None:
        if self._dropped:
            out.append(Overlong(head=bytes(self._buf[:64]), size=self._dropped))
        elif self._buf:
            out.append(bytes(self._buf))
        self._buf.clear()
        self._dropped = 0


def _next_terminator(data: bytes, start: int) -> int:
    cr = data.find(b"\r", start)
    lf = data.find(b"\n", start)
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)
