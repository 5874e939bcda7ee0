"""``kind = "cups"``: a raw job through a CUPS queue (python-escpos's ``CupsPrinter``).

CUPS does not run here and pycups needs libcups to build, so the CUPS side is a stand-in at
the library boundary with ``CupsPrinter``'s methods (open a job, gather bytes, send on close).
"""

import importlib.util
from pathlib import Path

import pytest

from config import ConfigError, PrinterSettings, load_agent_settings
from printers.connections import CupsConnection, make_connection
from printers.errors import PrinterUnavailable
from tests.agent.conftest import SECRET


class FakeCupsPrinter:
    """What python-escpos's CupsPrinter does with a job, against a list instead of cupsd."""

    def __init__(self, sent: list[tuple[str, str, bytes]], queues: set[str], name: str) -> None:
        self.sent, self.queues, self.name = sent, queues, name
        self.buffer = b""
        self.job_name = ""

    def open(self, job_name: str = "python-escpos") -> None:
        if self.name not in self.queues:
            raise RuntimeError(f"Unable to start a print job for the printer {self.name}")
        self.job_name = job_name

    def _raw(self, data: bytes) -> None:
        self.buffer += data

    def close(self) -> None:
        self.sent.append((self.name, self.job_name, self.buffer))


def _settings(queue: str) -> PrinterSettings:
    return PrinterSettings.model_construct(
        kind="cups", cups_queue=queue, cups_server="localhost:631", connect_timeout_s=2.0
    )


async def test_a_job_is_handed_to_the_queue_as_one_raw_job_on_close() -> None:
    sent: list[tuple[str, str, bytes]] = []
    conn = CupsConnection(
        _settings("TM-T20"), factory=lambda s: FakeCupsPrinter(sent, {"TM-T20"}, s.cups_queue)
    )
    assert conn.describe() == "cups TM-T20@localhost:631" and not conn.answers_status
    await conn.open("order-A-1")
    await conn.write(b"\x1b@hello\n")
    await conn.write(b"\x1dV\x00")
    assert sent == []  # gathered until the job is complete
    await conn.close()
    assert sent == [("TM-T20", "order-A-1", b"\x1b@hello\n\x1dV\x00")]


async def test_an_unknown_queue_is_unreachable() -> None:
    conn = CupsConnection(
        _settings("Nope"), factory=lambda s: FakeCupsPrinter([], {"TM-T20"}, s.cups_queue)
    )
    with pytest.raises(PrinterUnavailable) as err:
        await conn.open("job")
    assert err.value.reason == "unreachable" and "Nope" in str(err.value)


def test_without_pycups_the_config_says_what_to_install(tmp_path: Path) -> None:
    if importlib.util.find_spec("cups") is not None:
        pytest.skip("pycups is installed here")
    config = tmp_path / "agent.toml"
    config.write_text(f'[cloud]\ndevice_secret = "{SECRET}"\n[printer]\nkind = "cups"\n')
    with pytest.raises(ConfigError) as err:
        load_agent_settings(config)
    assert str(err.value).startswith(f"config file {config}: printer: ")
    assert "pip install pycups" in str(err.value) and "\n" not in str(err.value)


def test_make_connection_knows_the_kind() -> None:
    assert isinstance(make_connection(_settings("")), CupsConnection)
