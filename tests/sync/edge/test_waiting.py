"""A background task waiting on its wake-up event stops when cancelled, whenever the event is
set: the uploader, the state pull and the print worker all wait this way, and the agent's
shutdown cancels them and waits for them to end."""

import asyncio

import pytest

from sync.web.waiting import wait_set


async def _idle_loop(wake: asyncio.Event) -> None:
    while True:
        wake.clear()
        await wait_set(wake, 5.0)
        await asyncio.sleep(0)


@pytest.mark.parametrize("steps", range(5))
async def test_given_the_event_set_as_the_task_is_cancelled_then_the_task_ends(
    steps: int,
) -> None:
    # asyncio.wait_for on 3.11 lost the cancellation for some of these interleavings, and the
    # task went on forever (it hung the uploader's backoff test in CI).
    wake = asyncio.Event()
    task = asyncio.create_task(_idle_loop(wake))
    await asyncio.sleep(0.01)
    wake.set()
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert done, "the cancelled task kept running"
    assert task.cancelled()


async def test_given_no_event_then_it_answers_false_after_the_timeout() -> None:
    assert await wait_set(asyncio.Event(), 0.01) is False


async def test_given_the_event_then_it_answers_true() -> None:
    wake = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, wake.set)
    assert await wait_set(wake, 5.0) is True
