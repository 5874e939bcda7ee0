"""Reading the cloud's batch answer: anything that is not one result per event sent is link
trouble (the events stay pending), never a reason to dead-letter them."""

import json
import uuid

import pytest

from sync.contract.events import EventStatus
from sync.edge.client import CloudUnreachable, parse_answers
from sync.edge.uploader import sort_results

IDS = [str(uuid.uuid4()) for _ in range(3)]


def answer(*results: dict[str, object]) -> str:
    return json.dumps({"results": list(results)})


def test_given_results_in_the_order_sent_then_acked_and_dead_are_sorted() -> None:
    text = answer(
        {"id": IDS[0], "status": "applied"},
        {"id": IDS[1], "status": "duplicate"},
        {"id": IDS[2], "status": "rejected", "reason": "unknown card"},
    )
    out = sort_results(IDS, parse_answers(text))
    assert out.acked == IDS[:2]
    assert (out.applied, out.duplicate) == (1, 1)
    assert out.dead == [(IDS[2], "rejected by the cloud: unknown card")]


def test_given_results_in_another_order_and_upper_case_ids_then_each_finds_its_event() -> None:
    text = answer(
        {"id": IDS[2].upper(), "status": "applied"},
        {"id": IDS[0], "status": "rejected"},
        {"id": IDS[1], "status": "applied"},
    )
    out = sort_results(IDS, parse_answers(text))
    assert out.acked == [IDS[1], IDS[2]]
    assert out.dead == [(IDS[0], "rejected by the cloud: no reason given")]


@pytest.mark.parametrize(
    "text",
    [
        "<html><body>Please sign in to the shop Wi-Fi</body></html>",
        json.dumps({"results": "applied"}),
        json.dumps({"status": "ok"}),
        answer({"id": IDS[0], "status": "maybe"}),
        answer({"id": 7, "status": "applied"}),
        answer({"id": IDS[0], "status": "applied", "reason": ["x"]}),
        answer({"id": IDS[0], "status": ["applied"]}),
    ],
)
def test_given_an_answer_that_is_not_the_protocol_then_it_is_link_trouble(text: str) -> None:
    with pytest.raises(CloudUnreachable) as info:
        parse_answers(text)
    assert info.value.kind == "bad_answer"


@pytest.mark.parametrize(
    "ids",
    [IDS[:2], [*IDS[:2], str(uuid.uuid4())], [IDS[0], IDS[0], IDS[1]], ["not-a-uuid", *IDS[1:]]],
)
def test_given_results_for_other_events_then_it_is_link_trouble(ids: list[str]) -> None:
    answers = [(eid, EventStatus.APPLIED, None) for eid in ids]
    with pytest.raises(CloudUnreachable) as info:
        sort_results(IDS, answers)
    assert info.value.kind == "bad_answer"
