"""Guess throttles shared across cloud processes on one PostgreSQL database (issue #14,
``sync/cloud/shared_throttles.py``): a client blocked by one process is refused by the others
until the block ends."""

import asyncio
from pathlib import Path

import aiohttp
import pytest

from sync.web.throttle import Guesses, Throttle
from tests.sync.cloud.procs import CloudProcess, cloud_init, write_config


def test_given_a_block_shared_as_text_then_another_process_refuses_the_client_until_it_ends() -> (
    None
):
    """Given two processes' throttles joined by ``share``/``heard``, when a client reaches the
    sign-in limit on the first, then the second refuses it for as long, other clients and
    other throttles stay free, and text that is no block is ignored."""
    now = [100.0]

    def guesses() -> Guesses:
        made = Guesses()
        return Guesses(**{name: Throttle(t.limit, t.window_s, clock=lambda: now[0])
                          for name, t in made.by_name().items()})  # fmt: skip

    a, b = guesses(), guesses()
    sent: list[str] = []
    a.share(sent.append)
    for _ in range(a.sign_in.limit - 1):
        a.sign_in.fail("10.0.0.9")
    assert sent == []
    a.sign_in.fail("10.0.0.9")
    assert sent == ["sign_in 300.000 10.0.0.9"]
    for text in [*sent, "sign_in nan 10.0.0.9", "nope 5 10.0.0.9", "sign_in 5", "keys x y"]:
        b.heard(text)
    assert b.heard_blocks == 1
    assert b.sign_in.retry_after("10.0.0.9") == 300.0
    assert b.sign_in.retry_after("10.0.0.8") == 0.0 and b.keys.retry_after("10.0.0.9") == 0.0
    now[0] += 299.5
    assert b.sign_in.retry_after("10.0.0.9") == pytest.approx(0.5)
    now[0] += 0.5
    assert b.sign_in.retry_after("10.0.0.9") == 0.0


@pytest.mark.slow
@pytest.mark.postgres
async def test_given_two_processes_when_sign_in_is_exhausted_on_one_then_the_other_answers_429(
    fresh_pg_dsn: str, tmp_path: Path
) -> None:
    """Given two cloud processes on one PostgreSQL database, when a client exhausts the sign-in
    throttle on process A, then process B answers that client 429 with Retry-After, for the
    right key as for a wrong one, without B having seen a single failure of it."""
    config_a, port_a = write_config(tmp_path, fresh_pg_dsn)
    config_b, port_b = write_config(tmp_path, fresh_pg_dsn)
    link = cloud_init(config_a)
    a = CloudProcess(config_a, port_a, tmp_path / "a.log")
    b = CloudProcess(config_b, port_b, tmp_path / "b.log")
    try:
        await a.wait_healthy()
        await b.wait_healthy()
        async with aiohttp.ClientSession() as http:

            async def sign_in(url: str, key: str) -> aiohttp.ClientResponse:
                async with http.post(f"{url}/dashboard/login", data={"key": key},
                                     allow_redirects=False) as resp:  # fmt: skip
                    await resp.read()
                    return resp

            # B is free before: the right key signs in (a success counts nothing)
            assert (await sign_in(b.url, link["admin_key"])).status == 303
            limit = Guesses().sign_in.limit
            for _ in range(limit):
                assert (await sign_in(a.url, "ak_wrong")).status == 401
            assert (await sign_in(a.url, "ak_wrong")).status == 429
            # the block reaches B by a notification: wait for it (never a timed assertion)
            for _ in range(200):
                right = await sign_in(b.url, link["admin_key"])
                if right.status == 429:
                    break
                assert right.status == 303
                await asyncio.sleep(0.05)
            assert right.status == 429
            wrong = await sign_in(b.url, "ak_wrong")
            assert wrong.status == 429
            assert 1 <= int(wrong.headers["Retry-After"]) <= 300
    finally:
        a.stop()
        b.stop()
