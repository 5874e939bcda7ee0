"""Fixtures for the scanner drivers' tests: serial scanners on real ptys, and the agent-side
fixtures and helpers of ``tests.agent.scans.conftest`` (the drivers run inside a real agent)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import AgentFactory
from tests.agent.scans.conftest import (
    DEVICE_KEY,
    SECRET,
    Client,
    events,
    make_agent,
    metric,
    scan_rows,
    scanner_settings,
    service,
)
from tests.fakes.scanner import PtyScanner

__all__ = [
    "DEVICE_KEY",
    "SECRET",
    "AgentFactory",
    "Client",
    "events",
    "make_agent",
    "metric",
    "scan_rows",
    "scanner_settings",
    "service",
]


@pytest.fixture
def pty_scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    """A serial scanner at ``tmp_path/ttyScanner`` (a symlink to a pty)."""
    scanner = PtyScanner(tmp_path / "ttyScanner")
    yield scanner
    scanner.close()
