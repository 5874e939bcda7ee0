"""Printer status from ``DLE EOT`` answers (pure): what the shop sees on /health and on each job.

Silence is ``unknown``, never ``ok``: a printer is only ``ok`` when it said so.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

StateName = Literal["ok", "paper_out", "cover_open", "offline", "error", "unknown", "disabled"]
PROBLEM_STATES: frozenset[str] = frozenset({"paper_out", "cover_open", "offline", "error"})
STATUS_QUERIES = (1, 2, 4)  # printer status, offline cause, roll paper sensor


class PrinterState(BaseModel):
    """The printer's last known state, with a sentence for people and when it was checked."""

    state: StateName
    detail: str
    checked_at: datetime | None = None


def dle_eot(n: int) -> bytes:
    """``DLE EOT n``: a real-time status request; the printer answers one byte."""
    return b"\x10\x04" + bytes((n,))


def is_status_byte(b: int) -> bool:
    """A genuine ``DLE EOT`` answer has bits 1 and 4 set and bits 0 and 7 clear."""
    return (b & 0x93) == 0x12


def interpret(answers: dict[int, int | None]) -> tuple[StateName, str]:
    """Turn the answers to ``DLE EOT 1, 2, 4`` (None = no answer) into a state and a sentence."""
    got = {n: b for n, b in answers.items() if b is not None}
    if not got:
        return "unknown", "the printer did not answer the status query"
    bad = [n for n, b in got.items() if not is_status_byte(b)]
    if bad:
        return "unknown", f"unexpected status answer {got[bad[0]]:#04x} to DLE EOT {bad[0]}"
    s1, s2, s4 = got.get(1, 0x12), got.get(2, 0x12), got.get(4, 0x12)
    if s4 & 0x60 or s2 & 0x20:
        return "paper_out", "out of paper: load a new roll"
    if s2 & 0x04:
        return "cover_open", "the printer cover is open"
    if s2 & 0x40:
        return "error", "the printer reports an error (cutter jam or head too hot?)"
    if s1 & 0x08:
        return "offline", "the printer is offline"
    if len(got) < len(answers):
        return "unknown", "the printer answered only part of the status query"
    if s4 & 0x0C:
        return "ok", "ready; paper is running low"
    return "ok", "ready"
