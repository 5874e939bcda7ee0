"""The configured ``[[scanner]]`` entries as running parts: a source, its runner, where its
lines go, and the fields ``/health`` shows."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from config.agent import ScannerSettings
from drivers.framing import RawLine
from drivers.runner import Backoff, ScannerRunner
from drivers.sources import make_source

# manual: a staff phone (never a scanner); redeem: a till's scanner for reward codes
Mode = Literal["autopilot", "kiosk", "manual", "redeem"]


@dataclass(frozen=True)
class ScanContext:
    """Where a scan came from: the scanner's name (or ``api:<till>``), its till and its mode."""

    source: str
    till: str | None
    mode: Mode


LineHandler = Callable[[RawLine, ScanContext], Awaitable[None]]


def scanner_name(index: int, s: ScannerSettings) -> str:
    """A name for ``/health`` and the scans table: the configured ``name`` if the settings
    have one, else kind, device (or address) and position."""
    custom = getattr(s, "name", None)  # a field proposed for ScannerSettings
    if isinstance(custom, str) and custom:
        return custom
    return f"{s.kind}:{s.address if s.kind == 'tcp' else s.device}#{index + 1}"


class ConfiguredScanner:
    """One ``[[scanner]]``: its source kept open by a runner, each line handed to ``handle``."""

    def __init__(
        self,
        index: int,
        settings: ScannerSettings,
        handle: LineHandler,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self.ctx = ScanContext(scanner_name(index, settings), settings.till, settings.mode)
        self._handle = handle
        source = make_source(
            settings.kind,
            device=settings.device,
            address=settings.address,
            baudrate=settings.baudrate,
            suffix=settings.suffix,
            layout=settings.layout,
            grab=settings.grab,
        )
        self.runner = ScannerRunner(self.ctx.source, source, self._sink, backoff=backoff)

    async def _sink(self, line: RawLine) -> None:
        await self._handle(line, self.ctx)

    def health(self) -> dict[str, str]:
        """The fields of the agent's ``ScannerHealth``."""
        return {
            "name": self.ctx.source,
            "kind": self.settings.kind,
            "till": self.settings.till,
            "mode": self.settings.mode,
            **self.runner.health(),
        }
