"""``GET /v1/sync/state`` with ``ETag`` / ``If-None-Match``: an unchanged state costs a 304, and
any change to what the device would be sent (a card, the program) gives the full answer again."""

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
    assert new_tag == ""  # an answer with cards has no tag
    cursor = state["cursor"]
    status, tag, _ = await _state(cloud, cursor)
    assert (await _state(cloud, cursor, tag))[0] == 304
    await cloud.set_program(rule="per_order", stamps_per_order=2, goal=8)
    status, changed, body = await _state(cloud, cursor, tag)
    assert status == 200 and json.loads(body)["program"]["goal"] == 8 and changed != tag
    status, _, _ = await _state(cloud, 0, changed)  # the tag names another cursor
    assert status == 200
