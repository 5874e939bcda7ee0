"""State back to the edge: program and card cache with a cursor, against the stand-in cloud."""

import pytest

from agent.orders.program_source import ProgramSource, program_from_settings
from config import ProgramSettings
from sync.edge.client import CloudClient, CloudUnreachable
from sync.edge.outbox import Outbox
from sync.edge.state_pull import CURSOR_KEY, StatePuller, kv_get, saved_program
from tests.sync.edge.stand_in_cloud import StandInCloud, default_program

Cloud = tuple[StandInCloud, str]


def card(i: int, **extra: str) -> dict[str, str]:
    return {
        "customer_id": f"c{i}",
        "card_code": f"card{i:04d}",
        "number": f"{100000 + i}",
        **extra,
    }


async def test_given_250_cards_in_pages_of_100_then_all_cached_and_cursor_kept(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    for i in range(250):
        cloud.add_card(**card(i))
    source = ProgramSource(program_from_settings(ProgramSettings()))
    puller = StatePuller(outbox, client, source.update)
    assert await puller.pull_once() == 250
    rows = await outbox.fetchall("SELECT card_code FROM cards ORDER BY updated_seq")
    assert len(rows) == 250 and rows[0]["card_code"] == "CARD0000"
    assert await kv_get(outbox, CURSOR_KEY) == 250
    # Only what changed since the cursor travels next time.
    cloud.add_card(**card(7, email="Ann@Example.com", name="Ann"))
    cloud.requests = 0
    assert await puller.pull_once() == 1
    assert cloud.requests == 1
    row = await outbox.fetchone("SELECT email, name FROM cards WHERE customer_id = 'c7'")
    assert row is not None and (row["email"], row["name"]) == ("ann@example.com", "Ann")


async def test_given_a_program_change_in_the_cloud_then_the_next_pull_applies_and_saves_it(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    source = ProgramSource(program_from_settings(ProgramSettings()))  # by_amount from config
    puller = StatePuller(outbox, client, source.update)
    await puller.pull_once()
    assert (source.current.rule, source.version) == ("per_order", 1)
    cloud.program = default_program(version=2, rule="by_amount", step="5", goal=8)
    await puller.pull_once()
    assert (source.current.rule, str(source.current.step), source.current.goal) == (
        "by_amount",
        "5",
        8,
    )
    saved = await saved_program(outbox)
    assert saved is not None and (saved.version, saved.goal) == (2, 8)


async def test_given_the_cloud_down_then_the_pull_raises_and_the_cache_stays(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    cloud.add_card(**card(1))
    source = ProgramSource(program_from_settings(ProgramSettings()))
    puller = StatePuller(outbox, client, source.update)
    await puller.pull_once()
    cloud.fail_next = [503]
    with pytest.raises(CloudUnreachable):
        await puller.pull_once()
    assert len(await outbox.fetchall("SELECT * FROM cards")) == 1
    assert source.version == 1


async def test_given_the_cloud_cursor_went_back_then_everything_is_taken_again(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    for i in range(3):
        cloud.add_card(**card(i))
    source = ProgramSource(program_from_settings(ProgramSettings()))
    puller = StatePuller(outbox, client, source.update)
    await puller.pull_once()
    cloud.cards = []  # a restored cloud database: sequence starts again
    cloud.add_card(**card(9))
    assert await puller.pull_once() == 1
    assert await kv_get(outbox, CURSOR_KEY) == 1
    assert len(await outbox.fetchall("SELECT * FROM cards")) == 4


async def test_given_the_cloud_refuses_the_saved_cursor_then_the_pull_starts_again_from_zero(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    cloud.add_card(**card(1))
    source = ProgramSource(program_from_settings(ProgramSettings()))
    puller = StatePuller(outbox, client, source.update)
    await puller.pull_once()
    cloud.fail_next = [422]
    assert await puller.pull_once() == 1  # taken again from cursor 0
    assert await kv_get(outbox, CURSOR_KEY) == 1
