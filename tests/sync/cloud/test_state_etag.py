"""``GET /v1/sync/state`` with ``ETag`` / ``If-None-Match``: an unchanged state costs a 304, and
any change to what the device would be sent (a card, the program) gives the full answer again."""

from typing import Any

import pytest

from tests.sync.cloud.conftest import Cloud
from tests.sync.cloud.test_key_cache import counter


async def _state(cloud: Cloud, cursor: int, tag: str | None = None) -> tuple[int, str, bytes]:
    headers = cloud.device()
    if tag is not None:
        headers["If-None-Match"] = tag
    resp = await cloud.http.get(f"/v1/sync/state?cursor={cursor}", headers=headers)
    return resp.status, resp.headers.get("ETag", ""), await resp.read()


async def test_given_nothing_changed_when_pulled_again_with_the_etag_then_304(
    cloud: Cloud,
) -> None:
    """Given a device that pulled the state up to its cursor, when it asks again with the ETag
    it got, then the answer is 304 with no body and the same tag; the metrics count it."""
    await cloud.customer("ann@example.com")
    status, _, body = await _state(cloud, 0)
    assert status == 200
    cursor = int(__import__("json").loads(body)["cursor"])
    status, tag, body = await _state(cloud, cursor)
    assert status == 200 and tag.startswith('"') and b'"cards":[]' in body
    status, again, body = await _state(cloud, cursor, tag)
    assert (status, again, body) == (304, tag, b"")
    status, _, _ = await _state(cloud, cursor, f'W/{tag}, "other"')
    assert status == 304
    text = await (await cloud.http.get("/metrics")).text()
    pulls = "stampedge_cloud_state_pulls_total"
    assert counter(text, pulls, '{result="not_modified"}') == 2
    assert counter(text, pulls, '{result="full"}') == 2


async def test_given_a_card_or_program_change_then_the_old_etag_gets_the_full_state(
    cloud: Cloud,
) -> None:
    """Given a device holding an ETag, when a card changes, then the same tag gets 200 with that
    card; when the program changes, 200 with the new program; a tag for another cursor, 200."""
    status, tag, body = await _state(cloud, 0)
    assert status == 200 and tag
    import json

    cursor = json.loads(body)["cursor"]
    card = await cloud.customer("bea@example.com")
    status, new_tag, body = await _state(cloud, cursor, tag)
    state = json.loads(body)
    assert status == 200 and [c["card_code"] for c in state["cards"]] == [card["card_code"]]
    assert new_tag not in ("", tag)  # the answer with cards names the cursor it leaves
    cursor = state["cursor"]
    status, tag, _ = await _state(cloud, cursor)
    assert tag == new_tag and (await _state(cloud, cursor, tag))[0] == 304
    await cloud.set_program(rule="per_order", stamps_per_order=2, goal=8)
    status, changed, body = await _state(cloud, cursor, tag)
    assert status == 200 and json.loads(body)["program"]["goal"] == 8 and changed != tag
    status, _, _ = await _state(cloud, 0, changed)  # the tag names another cursor
    assert status == 200


async def test_given_an_answer_with_cards_when_nothing_changed_since_then_its_tag_gets_304(
    cloud: Cloud,
) -> None:
    """Given a till whose last pull brought cards (a quiet shop: a check now and then), when it
    pulls again at the cursor that answer left, with that answer's tag, and no card or program
    changed, then the answer is a 304 (a till used to need a second, full pull first); once a
    card changes, the same tag gets the card."""
    import json

    await cloud.customer("ann@example.com")
    status, tag, body = await _state(cloud, 0)
    state = json.loads(body)
    assert status == 200 and len(state["cards"]) == 1 and tag
    assert await _state(cloud, state["cursor"], tag) == (304, tag, b"")
    card = await cloud.customer("bea@example.com")
    status, _, body = await _state(cloud, state["cursor"], tag)
    assert status == 200
    assert [c["card_code"] for c in json.loads(body)["cards"]] == [card["card_code"]]


async def test_given_a_tag_made_in_one_language_then_another_language_gets_the_full_state(
    cloud: Cloud,
) -> None:
    """Given the tag of an unchanged state in English, when the business's language is German
    (the cloud's setting, not the database's), then the tag no longer names the state: the
    device is sent the full state in German, with a tag of its own."""
    from sync.cloud.store.figures import tag_of
    from sync.cloud.store.tenancy import Principal

    link = cloud.link
    who = Principal("device", link["business_id"], link["branch_id"], link["device_id"])
    state = await cloud.store.sync_state(who, 0, "en", [])
    assert not isinstance(state, str)
    tag = tag_of(state)
    assert tag is not None
    assert await cloud.store.sync_state(who, state.cursor, "en", [tag]) == tag
    german = await cloud.store.sync_state(who, state.cursor, "de", [tag])
    assert not isinstance(german, str) and german.language == "de"
    assert tag_of(german) not in (None, tag)


async def test_given_a_small_state_then_it_is_written_on_the_loop_and_a_large_one_off_it(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a state of a few cards, when a till pulls it, then its JSON is written on the loop
    (no worker thread's hand-off per pull); given more cards than ``SMALL_STATE``, in a worker
    thread, so a large page never holds the loop."""
    import asyncio
    import json

    from sync.cloud.handlers import SMALL_STATE

    dumped: list[str] = []
    real = asyncio.to_thread

    async def spy(func: Any, /, *args: Any, **kw: Any) -> Any:
        dumped.append(getattr(func, "__name__", ""))
        return await real(func, *args, **kw)

    monkeypatch.setattr(asyncio, "to_thread", spy)
    await cloud.customer("ann@example.com")
    status, _, body = await _state(cloud, 0)
    assert status == 200 and len(json.loads(body)["cards"]) == 1
    assert "model_dump_json" not in dumped
    for i in range(SMALL_STATE):
        await cloud.customer(f"c{i}@example.com")
    status, _, body = await _state(cloud, 0)
    assert status == 200 and len(json.loads(body)["cards"]) == SMALL_STATE + 1
    assert "model_dump_json" in dumped
