"""The autouse blocking guard: product code that blocks the event loop fails an async test,
the same call from a worker thread passes, and a marked test may block."""

import asyncio
from pathlib import Path

import pytest
from blockbuster import BlockBuster, BlockingError

from config import load_agent_settings


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text('[cloud]\ndevice_secret = "guard-test-secret-0123456789abcdef"\n')
    return path


async def test_given_product_code_reading_a_file_on_the_loop_then_blocking_error(
    tmp_path: Path, blocking_guard: BlockBuster | None
) -> None:
    assert blocking_guard is not None
    config = _config(tmp_path)  # the test's own file I/O is setup, not watched
    with pytest.raises(BlockingError):
        load_agent_settings(config)


async def test_given_the_same_read_in_a_worker_thread_then_it_passes(tmp_path: Path) -> None:
    settings = await asyncio.to_thread(load_agent_settings, _config(tmp_path))
    assert settings.cloud.device_secret


@pytest.mark.allow_blocking("shows the opt-out")
async def test_given_the_opt_out_marker_then_the_guard_is_off(
    tmp_path: Path, blocking_guard: BlockBuster | None
) -> None:
    assert blocking_guard is None
    assert load_agent_settings(_config(tmp_path)).cloud.device_secret


def test_given_a_sync_test_then_no_guard(blocking_guard: BlockBuster | None) -> None:
    assert blocking_guard is None
