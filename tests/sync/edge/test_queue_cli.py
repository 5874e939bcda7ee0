"""``stampedge queue flush`` and ``queue dead`` against the stand-in cloud."""

import argparse
import io
from pathlib import Path

import pytest

from agent.queue_cli import ProgressBar, run_queue_command
from config import AgentSettings
from tests.agent.conftest import agent_settings
from tests.agent_db import open_box
from tests.conftest import free_port
from tests.sync.edge.conftest import order_event
from tests.sync.edge.stand_in_cloud import StandInCloud

Cloud = tuple[StandInCloud, str]


def args(action: str, *, as_json: bool = False) -> argparse.Namespace:
    return argparse.Namespace(action=action, json=as_json, state=None, limit=50, ids=[])


async def queue(data: Path, n: int, *extra: str) -> None:
    box = await open_box(data / "agent.db")
    try:
        await box.append([order_event(f"o{i}") for i in range(n)])
        await box.append([order_event(oid) for oid in extra])
    finally:
        await box.close()


def settings_for(data: Path, url: str) -> AgentSettings:
    return agent_settings(data, cloud={"url": url, "batch_size": 100})


async def test_given_1000_queued_then_flush_drains_them_with_a_progress_bar(
    tmp_data: Path, stand_in: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud, url = stand_in
    await queue(tmp_data, 1000, "POISON-1")
    assert await run_queue_command(settings_for(tmp_data, url), args("flush")) == 0
    out, err = capsys.readouterr()
    assert "flushed: 1000 applied, 0 already there, 1 refused (see: stampedge queue dead)" in out
    bars = [line for line in err.splitlines() if line.startswith("[")]
    assert bars[-1].startswith("[" + "#" * 30 + "] 1001/1001 events 100%")
    assert len(bars) >= 2  # it moved, not just a final line
    assert len(cloud.ledger) == 1000
    assert await run_queue_command(settings_for(tmp_data, url), args("dead")) == 0
    out, _ = capsys.readouterr()
    assert "rejected by the cloud: unknown card" in out


async def test_given_the_cloud_unreachable_then_flush_exits_1_and_keeps_the_events(
    tmp_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await queue(tmp_data, 3)
    url = f"http://127.0.0.1:{free_port()}"
    assert await run_queue_command(settings_for(tmp_data, url), args("flush")) == 1
    _, err = capsys.readouterr()
    assert f"cannot flush to the cloud at {url}" in err
    assert "3 event(s) are still queued and safe" in err
    assert await run_queue_command(settings_for(tmp_data, url), args("status", as_json=True)) == 0
    out, _ = capsys.readouterr()
    assert '"pending":3' in out and '"dead":0' in out


async def test_given_a_wrong_key_then_flush_exits_1_naming_the_key(
    tmp_data: Path, stand_in: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = stand_in
    await queue(tmp_data, 2)
    s = agent_settings(tmp_data, cloud={"url": url, "device_key": "sk_7_nope"})
    assert await run_queue_command(s, args("flush")) == 1
    _, err = capsys.readouterr()
    assert "HTTP 401" in err and "cloud.device_key" in err


def test_progress_bar_text() -> None:
    out = io.StringIO()
    bar = ProgressBar(200, out)
    bar.advance(100)
    bar.advance(100)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[" + "#" * 15 + "." * 15 + "] 100/200 events  50%")
    assert lines[1].startswith("[" + "#" * 30 + "] 200/200 events 100%")
