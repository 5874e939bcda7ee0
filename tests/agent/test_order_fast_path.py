"""The order path's hand-written pieces say what the models and the standard library say.

The stored answer is written with orjson and the event payload hashed through
``canonical_json_plain``: both must give the standard encoder's text. (The hand-written body
reader and answer builder were removed on 2026-12-07: ``bench/fast_paths.py`` put their saving at
about 1-2% of a check's CPU, below the noise.) Also the lean token mint, event ids and base32.
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
from agent.orders.body import OrderInput, read_order
from agent.orders.event_ids import new_event_id
from agent.orders.service import _answer_json
from sync.contract import claim_token
from sync.contract.events import CustomerRef, OrderPayload, canonical_json, canonical_json_plain

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


NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
when = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
refs = st.none() | st.sampled_from(
    [CustomerRef(card="ABC123"), CustomerRef(number="123456"), CustomerRef(email="a@b.example")]
)
amounts = st.decimals(min_value=0, max_value=10**9, places=4)


@settings(max_examples=300)
@given(bodies)
def test_a_body_is_read_as_pydantic_reads_it_or_refused_with_422(body: dict[str, Any]) -> None:
    try:
        expected: OrderInput | None = OrderInput.of(OrderRequest.model_validate(body))
    except ValidationError:
        expected = None
    if expected is None:
        with pytest.raises(InvalidInput):
            read_order(body)
    else:
        assert read_order(body) == expected


# what a ``Till`` may hold (no control characters: the contract refuses them on both ends; no
# lone surrogate: no UTF-8 text holds one, and the model refuses it - the body reader's test
# above sends one)
TILL_CHARS = st.characters(
    exclude_categories=("Cs",), exclude_characters=[chr(c) for c in range(32)] + ["\x7f"]
)


@settings(max_examples=300)
@given(
    total=amounts,
    till=st.none() | st.text(TILL_CHARS, min_size=1, max_size=64),
    customer=refs,
    claim=st.booleans(),
    at=when,
)
def test_the_stored_answer_and_the_hashed_payload_are_the_standard_encoders_text(
    total: Decimal, till: str | None, customer: CustomerRef | None, claim: bool, at: datetime
) -> None:
    url = "HTTPS://STMP.EXAMPLE/C/" + "A" * 48 if claim else None
    expires = at + timedelta(hours=720) if claim else None
    answer = OrderAnswer.model_validate(
        {
            "order_id": "a-1",
            "stamps": 3,
            "rule": "by_amount",
            "total": str(total),
            "currency": "EUR",
            "till": till,
            "customer": customer,
            "claim": {"url": url, "expires_at": expires} if claim else None,
            "recorded_at": at,
        }
    ).model_dump(mode="json")
    # orjson writes the stored answer byte for byte as the standard encoder would
    assert _answer_json(answer) == json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    payload = OrderPayload(
        order_id="a-1",
        total=total,
        currency="EUR",
        till=till,
        stamps=3,
        rule="by_amount",
        customer=customer,
        order_ref="0123456789abcdef" if claim else None,
        claim_expires_at=expires,
    ).model_dump(mode="json", exclude_none=True)
    # ... and the hashed payload text as canonical_json would
    assert canonical_json_plain(payload) == canonical_json(payload)


def test_the_minted_claim_says_what_the_token_says() -> None:
    secret = "a-device-secret-of-some-length"
    text, minted = claim_token.mint(
        secret=secret, device_id=7, order_id="a-1", stamps=2, now=NOW, ttl_hours=720
    )
    ref, expires = minted.order_ref, minted.expires_at
    claim = claim_token.verify(text, secret=secret, now=NOW)
    assert claim == minted
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
