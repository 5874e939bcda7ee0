"""The order's hand-written hot path gives what the pydantic models give.

``agent.orders.body`` reads plain bodies by hand and ``agent.orders.answer_json`` builds the
answer and the event payload by hand; the models in ``agent.http.models`` and
``sync.contract.events`` stay the contract.
These properties hold the two paths together, so a change to a model that the hand-written path
does not follow fails here.
"""

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.http.errors import InvalidInput
from agent.http.models import OrderAnswer, OrderRequest
from agent.orders.answer_json import order_answer, order_payload
from agent.orders.body import OrderInput, _plain, read_order
from agent.orders.event_ids import new_event_id
from agent.orders.service import _answer_json
from sync.contract import claim_token
from sync.contract.events import CustomerRef, OrderPayload, canonical_json, canonical_json_plain
from sync.web.http_util import _DECODER

texts = st.text(min_size=0, max_size=70) | st.sampled_from(["", " ", "till-1", "\ud800", "é" * 64])
order_ids = st.text(alphabet=st.characters(min_codepoint=0x1F, max_codepoint=0x80), max_size=70)
totals: st.SearchStrategy[Any] = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=0, max_value=10**10, places=4).map(str),
    st.integers(min_value=-5, max_value=2 * 10**9),
    st.decimals(min_value=0, max_value=10**6, places=6),
    st.sampled_from(["23.50", "007.5", "1e3", " 1", "1000000000", "999999999.9999", "٣", True]),
    st.floats(),
    st.none(),
)
customers: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.fixed_dictionaries({"card": texts}),
    st.fixed_dictionaries({"number": st.from_regex(r"\A[0-9]{5,7}\Z") | texts}),
    st.fixed_dictionaries({"email": st.sampled_from(["a@b.c", "bad", "A@B.C "])}),
    st.fixed_dictionaries({"card": texts, "number": st.just("123456")}),
    st.integers(),
    st.just({}),
)
flags = st.none() | st.booleans() | st.sampled_from([0, 1, "true", "yes"])
bodies = st.fixed_dictionaries(
    {"order_id": order_ids | st.integers(), "total": totals},
    optional={
        "currency": st.sampled_from(["EUR", "eur", "EURO", "US$"]) | st.none() | st.integers(),
        "till": texts | st.none() | st.integers(),
        "customer": customers,
        "receipt_qr": flags,
        "print": flags,
        "extra": st.integers(),
    },
)


@settings(max_examples=600)
@given(bodies)
def test_a_body_read_by_hand_is_what_pydantic_reads(body: dict[str, Any]) -> None:
    try:
        expected: OrderInput | None = OrderInput.of(OrderRequest.model_validate(body))
    except ValidationError:
        expected = None
    fast = _plain(body)
    if fast is not None:  # the hand path only ever accepts what pydantic accepts, unchanged
        assert expected is not None
        assert fast == expected
        assert str(fast.total) == str(expected.total)
    if expected is None:
        with pytest.raises(InvalidInput):
            read_order(body)
    else:
        assert read_order(body) == expected


@pytest.mark.parametrize(
    "raw",
    [
        '{"order_id": "a-1", "total": "23.50", "till": "till-1"}',
        '{"order_id": "a-1", "total": 23, "currency": "EUR", "receipt_qr": true, "print": false}',
        '{"order_id": "a-1", "total": "0", "customer": {"card": "ABC123"}}',
        '{"order_id": "a-1", "total": "10.0001", "customer": {"number": "123456"}}',
    ],
)
def test_the_bodies_tills_send_take_the_hand_path(raw: str) -> None:
    assert _plain(_DECODER.decode(raw)) is not None


NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
when = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
refs = st.none() | st.sampled_from(
    [CustomerRef(card="ABC123"), CustomerRef(number="123456"), CustomerRef(email="a@b.example")]
)
amounts = st.decimals(min_value=0, max_value=10**9, places=4)


@settings(max_examples=300)
@given(
    total=amounts,
    till=st.none() | st.text(min_size=1, max_size=64),
    customer=refs,
    claim=st.booleans(),
    at=when,
    autopilot=st.booleans(),
)
def test_the_answer_and_payload_built_by_hand_equal_the_models(
    total: Decimal,
    till: str | None,
    customer: CustomerRef | None,
    claim: bool,
    at: datetime,
    autopilot: bool,
) -> None:
    url = "HTTPS://STMP.EXAMPLE/C/" + "A" * 48 if claim else None
    expires = at + timedelta(hours=720) if claim else None
    ref = "0123456789abcdef" if claim else None
    answer = order_answer(
        order_id="a-1",
        stamps=3,
        rule="by_amount",
        total=total,
        currency="EUR",
        till=till,
        customer=customer,
        autopilot=autopilot,
        claim_url=url,
        expires_at=expires,
        recorded_at=at,
    )
    model = OrderAnswer.model_validate(
        {
            "order_id": "a-1",
            "stamps": 3,
            "rule": "by_amount",
            "total": str(total),
            "currency": "EUR",
            "till": till,
            "customer": customer,
            "autopilot": autopilot,
            "claim": {"url": url, "expires_at": expires} if claim else None,
            "recorded_at": at,
        }
    )
    assert answer == model.model_dump(mode="json")
    assert json.loads(json.dumps(answer, ensure_ascii=False)) == json.loads(model.model_dump_json())
    # orjson writes the stored answer byte for byte as the standard encoder would
    assert _answer_json(answer) == json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    common: dict[str, Any] = {
        "order_id": "a-1",
        "total": total,
        "currency": "EUR",
        "till": till,
        "stamps": 3,
        "rule": "by_amount",
        "customer": customer,
        "order_ref": ref,
    }
    payload = order_payload(**common, expires_at=expires)
    expected = OrderPayload(**common, claim_expires_at=expires).model_dump(
        mode="json", exclude_none=True
    )
    assert payload == expected
    # ... and the hashed payload text as canonical_json would
    assert canonical_json_plain(payload) == canonical_json(payload)


def test_the_lean_mint_says_what_the_token_says() -> None:
    secret = "a-device-secret-of-some-length"
    text, ref, expires = claim_token.mint_lean(
        secret=secret, device_id=7, order_id="a-1", stamps=2, now=NOW, ttl_hours=720
    )
    claim = claim_token.verify(text, secret=secret, now=NOW)
    assert (claim.order_ref, claim.expires_at, claim.stamps) == (ref, expires, 2)
    assert ref == claim_token.order_ref("a-1")


def test_event_ids_are_distinct_time_ordered_uuid7s() -> None:
    before = int(time.time() * 1000)
    ids = [new_event_id() for _ in range(5000)]
    after = int(time.time() * 1000)
    assert len(set(ids)) == len(ids)
    for text in ids[:300]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)
        assert before <= parsed.int >> 80 <= after  # the first 48 bits are Unix milliseconds
    # ids made later never sort before ids made earlier (to the millisecond)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


@given(st.binary(min_size=0, max_size=60).filter(lambda b: len(b) % 5 == 0))
def test_the_token_base32_is_rfc_4648(raw: bytes) -> None:
    assert claim_token._b32(raw) == base64.b32encode(raw).decode("ascii")
