"""The fast road for event batches (``sync.cloud.intake``) gives exactly what the pydantic road
gives, or steps aside: equal canonical JSON (so equal payload hashes, byte for byte, with what
the agent's outbox computes), equal times and records, and nothing accepted that the wire models
refuse."""

import json
import pickle
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from config import load_cloud_settings
from sync.cloud import intake, ledger
from sync.cloud.app import build_cloud_app
from sync.cloud.batch_reader import MIN_BYTES
from sync.cloud.book import Rejected
from sync.cloud.http import READER
from sync.cloud.provision import init_business
from sync.cloud.records import Incoming, batch_keys
from sync.contract import claim_token
from sync.contract.events import EventBatch, canonical_json, canonical_json_plain, payload_hash
from sync.web.http_util import _DECODER
from tests.clock import START

from .conftest import Cloud, event, order

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

AWKWARD_TEXT = [
    "", "plain", "23.50", "-0.000001", "1e5", "Café crème", "中文", "emoji 😀 astral", "\x7f",
    "\x00\x01\x1f", 'quote " and \\ backslash', "/slash/", "\u2028\u2029", "tab\tnew\nline\r",
    "\ufeffbom", "ß→SS", " padded ",
]  # fmt: skip

json_text = st.one_of(st.sampled_from(AWKWARD_TEXT), st.text(max_size=12))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), json_text)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(json_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def _wire(value: Any) -> Any:
    """``value`` as the cloud decodes it from a body: through orjson."""
    return orjson.loads(orjson.dumps(value))


# canonical JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"total": "23.50", "note": "Café ☕ 😀", "nested": {"b": [1, {"z": "\x7f", "a": None}]}},
        {"é": 1, "e": 2, "Z": 3, "😀": {"ü": ["\u2028", "\x00"]}},
        {"big": 2**64 - 1, "neg": -(2**63), "t": True, "f": False, "n": None, "s": "1e-7"},
        {"ctrl": "".join(chr(i) for i in range(0x20)) + "\x7f", "q": '"\\/'},
        {},
        {"a": [], "b": {}, "c": [[[]]], "d": ""},
    ],
)
def test_given_awkward_payloads_then_fast_canonical_json_is_byte_identical(
    payload: dict[str, Any],
) -> None:
    assert canonical_json_plain(_wire(payload)) == canonical_json(payload)


@FAST
@given(st.dictionaries(json_text, json_value, max_size=6))
def test_given_any_float_free_payload_then_fast_canonical_json_is_byte_identical(
    payload: dict[str, Any],
) -> None:
    """Given any JSON object without floats, when the cloud hashes it through orjson, then the
    text (and so the hash) is the standard ``canonical_json`` the agent's outbox hashes."""
    wire = _wire(payload)
    assert canonical_json_plain(wire) == canonical_json(payload)
    assert payload_hash("order.recorded", wire) == payload_hash("order.recorded", payload)


# times --------------------------------------------------------------------------------------------

_DATETIME = TypeAdapter(datetime)

time_texts = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.from_regex(
        r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?\Z"
    ),
    st.sampled_from(["2026-11-23T12:00:00-00:00", "2026-02-30T00:00:00", "0000-01-01T00:00:00",
                     "2026-11-23 12:00:00", "2026-11-23T24:00:00", "2026-11-23T23:59:60Z",
                     "1700000000", "2026-11-23", "2026-11-23T12:00:00+23:59",
                     "2026-11-23T12:00:00+05:80", "2026-11-23T12:00:00.123456-03:60",
                     "2026-11-23T12:00:Z\x00-03:00", "2026-11-23T12:00:00.000000+00:00"]),
    # the shapes agents send, with any characters where the digits go
    st.tuples(st.sampled_from(["2026-11-23T12:00:00.123456+05:30", "2026-11-23T12:00:00-03:00"]),
              st.lists(st.tuples(st.integers(0, 31), st.sampled_from("0123456789 +-.:TZ\x00a٣")),
                       max_size=3))
    .map(lambda c: "".join({**dict(enumerate(c[0])), **{i: ch for i, ch in c[1]
                                                         if i < len(c[0])}}.values())),
)  # fmt: skip


@FAST
@given(time_texts)
def test_given_a_time_text_then_the_fast_reading_is_pydantics_or_none(text: str) -> None:
    fast = intake.time_text(text)
    if fast is not None:
        assert _DATETIME.validate_python(text).isoformat() == fast


def test_given_plain_agent_times_then_the_fast_reading_takes_them() -> None:
    for text in ["2026-11-23T12:00:00+00:00", "2026-11-23T12:00:00.123456+00:00",
                 "2026-11-23T12:00:00.123Z", "2026-11-23T12:00:00+05:30"]:  # fmt: skip
        assert intake.time_text(text) == _DATETIME.validate_python(text).isoformat()


# records ------------------------------------------------------------------------------------------

FIELD_VALUES = st.one_of(
    json_scalar,
    st.sampled_from([
        "A-1", "x" * 64, "x" * 65, "has space", "0", "23.50", "-4", "007.10", "1_000", " 1",
        "1.", ".5", "NaN", "Infinity", "1e3", "per_order", "by_amount", "EUR", 0, 1, -1, 10**30,
        "2026-12-01T00:00:00+00:00", "2026-12-01T00:00:00Z", "123456", "12345", "١٢٣٤٥٦",
        "a@b.example", "A@B.EXAMPLE", "a@@b", "a b@c", "ü@b.example", "SC2IJ8DU5FGGFFJ",
        [], {}, [1], {"card": "SC2IJ8DU5FGGFFJ"}, {"number": "123456"}, {"email": "a@b.x"},
        {"card": "ab", "number": None}, {"card": "ab", "number": "123456"}, {"card": ""},
        {"card": None}, {"email": "no-at"}, {"number": "١٢٣٤٥٦"}, {"card": " x ", "extra": 1},
        {"card": 5}, {"email": "A@B.EXAMPLE"}, {"card": "ß"},
    ]),
)  # fmt: skip
FIELDS = ["order_id", "total", "currency", "till", "stamps", "rule", "customer", "order_ref",
          "claim_expires_at", "scan_id", "reason", "other"]  # fmt: skip
TYPES = ["order.stamped", "receipt_qr.issued", "order.recorded", "order.attached",
         "order.voided", "scan.stamped", "no.such"]  # fmt: skip
GOOD = {
    "order.stamped": {"order_id": "A-1", "total": "23.50", "currency": "EUR", "stamps": 2,
                      "rule": "by_amount", "till": "till-1", "customer": {"card": "SCX"}},
    "receipt_qr.issued": {"order_id": "A-2", "total": 12, "currency": "EUR", "stamps": 1,
                          "rule": "per_order", "order_ref": "abc",
                          "claim_expires_at": "2026-12-01T00:00:00+00:00"},
    "order.recorded": {"order_id": "A-3", "total": "0", "currency": "EUR", "stamps": 0,
                       "rule": "per_order"},
    "order.attached": {"order_id": "A-3", "customer": {"number": "123456"}, "till": "t"},
    "order.voided": {"order_id": "A-3", "reason": "refund"},
    "scan.stamped": {"scan_id": "s-1", "stamps": 1, "customer": {"email": "Ann@Example.COM"}},
}  # fmt: skip


def _mutated(kind: str, changes: list[tuple[str, Any]], drops: list[str]) -> dict[str, Any]:
    payload = {**GOOD.get(kind, {}), **dict(changes)}
    for name in drops:
        payload.pop(name, None)
    return payload


# Mostly one or two steps away from what agents send: where the fast road's checks must stop
payloads = st.sampled_from(TYPES).flatmap(
    lambda kind: st.tuples(
        st.just(kind),
        st.builds(
            _mutated,
            st.just(kind),
            st.lists(st.tuples(st.sampled_from(FIELDS), FIELD_VALUES), max_size=2),
            st.lists(st.sampled_from(FIELDS), max_size=1),
        ),
    )
)


def _slow(kind: str, payload: dict[str, Any]) -> Any:
    try:
        return ledger.record_of(ledger.validated(kind, payload))
    except Rejected as err:
        return ("rejected", err.reason)


@FAST
@given(payloads)
def test_given_any_payload_then_the_fast_record_is_the_wire_models_or_none(
    case: tuple[str, dict[str, Any]],
) -> None:
    """Given any payload, when the fast road accepts it, then the wire model accepts it too and
    gives the same record (a refusal is always worded by the wire model)."""
    kind, payload = case
    fast = intake.fast_record(kind, payload)
    if fast is not None:
        assert _slow(kind, payload) == fast


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_given_what_agents_send_then_the_fast_road_takes_it(kind: str) -> None:
    record = intake.fast_record(kind, GOOD[kind])
    assert record is not None and record == _slow(kind, GOOD[kind])


# whole batches -----------------------------------------------------------------------------------


def _same(a: list[Incoming], b: list[Incoming]) -> None:
    def key(x: Incoming) -> tuple[Any, ...]:
        why = ("rejected", x.record.reason) if isinstance(x.record, Rejected) else x.record
        return (x.eid, x.type, x.device_time, x.payload_json, x.digest, why)

    assert [key(x) for x in a] == [key(x) for x in b]


events = st.fixed_dictionaries(
    {
        "id": st.one_of(st.uuids().map(str), st.uuids().map(str), st.uuids().map(str),
                        st.uuids().map(lambda u: str(u).upper()),
                        st.uuids().map(lambda u: u.hex), st.just("not-a-uuid")),
        "type": st.sampled_from(TYPES),
        "device_time": st.one_of(st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
                                 time_texts),
        "payload": st.one_of(payloads.map(lambda c: c[1]), payloads.map(lambda c: c[1]),
                             st.dictionaries(json_text, json_value, max_size=3),
                             st.just({"total": 23.5, "order_id": "F-1"})),
    },
)  # fmt: skip


@FAST
@given(st.lists(events, max_size=4))
def test_given_any_batch_then_the_fast_road_equals_the_pydantic_road_or_steps_aside(
    batch: list[dict[str, Any]],
) -> None:
    raw = json.dumps({"events": batch}).encode()
    fast = intake.read_batch(raw)
    try:
        slow = ledger.incoming(EventBatch.model_validate(_DECODER.decode(raw.decode())).events)
    except ValidationError:
        assert fast is None  # the 422 comes from the pydantic road
        return
    if fast is not None:
        _same(fast, slow)


def test_given_a_typical_agent_batch_then_the_fast_road_takes_it() -> None:
    batch = [event("order.recorded", order(f"T-{i}")) for i in range(3)]
    raw = json.dumps({"events": batch}).encode()
    fast = intake.read_batch(raw)
    assert fast is not None
    _same(fast, ledger.incoming(EventBatch.model_validate(json.loads(raw)).events))


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"events": {}}', b'{"events": [], "more": 1}', b'{"events": [1]}', b"nul",
     json.dumps({"events": [{}] * 501}).encode()],
)  # fmt: skip
def test_given_bodies_pydantic_refuses_then_the_fast_road_steps_aside(body: bytes) -> None:
    assert intake.read_batch(body) is None


# over HTTP ---------------------------------------------------------------------------------------


async def test_given_a_float_total_then_it_hashes_like_the_same_total_as_text(
    cloud: Cloud,
) -> None:
    """Given an event whose total is a JSON number (the pydantic road reads it as a Decimal),
    when the same id comes again with the total as text, then it is a duplicate, not a changed
    event: both roads hash the same canonical JSON."""
    eid = str(uuid.uuid4())
    first = await cloud.post_events([event("order.recorded", order("F-1", total=23.5), eid=eid)])
    again = await cloud.post_events([event("order.recorded", order("F-1", total="23.5"), eid=eid)])
    assert [r["status"] for r in first + again] == ["applied", "duplicate"]
    async with cloud.store.db.read() as tx:
        stored = await tx.fetchval("SELECT payload FROM events WHERE id = ?", eid)
    assert json.loads(stored)["total"] == "23.5"


async def test_given_odd_spellings_then_answers_match_the_pydantic_road(cloud: Cloud) -> None:
    """Upper-case ids, ``Z`` times, non-ASCII text and malformed payloads in one batch: the same
    answers whichever road each event takes."""
    upper = str(uuid.uuid4()).upper()
    batch = [
        {**event("order.recorded", order("O-1", till="Kasse ü")), "id": upper},
        {**event("order.recorded", order("O-2")), "device_time": "2026-11-23T12:00:00Z"},
        event("order.recorded", order("O-3", stamps=-1)),
        event("scan.stamped", {"scan_id": "s", "stamps": 1,
                               "customer": {"card": "x", "email": "a@b"}}),
        event("no.such", {}),
    ]  # fmt: skip
    results = await cloud.post_events(batch)
    assert results[0] == {"id": upper.lower(), "status": "applied", "reason": None}
    assert results[1]["status"] == "applied"
    slow = ledger.incoming(EventBatch.model_validate({"events": batch[2:]}).events)
    assert [(r["status"], r["reason"]) for r in results[2:]] == [
        ("rejected", x.record.reason) for x in slow if isinstance(x.record, Rejected)
    ]
    assert results[4]["reason"] == "malformed: unknown event type 'no.such'"


# in the helper process ---------------------------------------------------------------------------


@FAST
@given(st.lists(events, max_size=4))
def test_given_any_batch_then_packed_for_the_helper_it_comes_back_the_same_with_its_keys(
    batch: list[dict[str, Any]],
) -> None:
    raw = json.dumps({"events": batch}).encode()
    direct, packed = intake.read_batch(raw), intake.read_packed(raw)
    if direct is None:
        assert packed is None
        return
    assert packed is not None
    items, keys = intake.unpack(pickle.loads(pickle.dumps(packed)))
    _same(items, direct)
    assert keys == batch_keys(direct)  # the keys the loop would work out, worked out there


def test_given_a_mixed_batch_then_the_helper_names_the_rows_it_touches() -> None:
    """Given checks, a receipt QR, a void, an attach and a scan, when read in the helper, then
    the loop gets the ids, orders, QRs and cards to read without working them out itself."""
    qr = order("Q-1", order_ref=claim_token.order_ref("Q-1"), claim_expires_at=START.isoformat())
    batch = [
        event("order.stamped", order("S-1", customer={"card": "abc"})),
        event("receipt_qr.issued", qr),
        event("order.voided", {"order_id": "V-1"}),
        event("order.attached", {"order_id": "A-1", "customer": {"email": "Ann@Example.com"}}),
        event("scan.stamped", {"scan_id": "x", "stamps": 1, "customer": {"number": "123456"}}),
    ]
    packed = intake.read_packed(json.dumps({"events": batch}).encode())
    assert packed is not None
    _, keys = intake.unpack(packed)
    assert keys.event_ids == [e["id"] for e in batch]
    assert keys.order_ids == {"S-1", "Q-1", "V-1", "A-1"}
    assert keys.existing == {"V-1", "A-1"}
    assert keys.qr_refs == {claim_token.order_ref(o) for o in ("Q-1", "V-1", "A-1")}
    assert keys.card_refs == ["c:ABC", "e:ann@example.com", "n:123456"]


async def test_given_the_reader_process_then_large_and_small_batches_apply_alike(
    store: Any, clock: Any
) -> None:
    """Given the app reading batches in a helper process (as ``stampedge cloud`` runs it),
    a batch over ``MIN_BYTES`` goes there and a small one stays: the answers are the same."""
    settings = load_cloud_settings(None, {"cloud": {"database": "sqlite:///unused.db"}})
    link = await init_business(store, business="Cafe", branch="Main", rule="per_order")
    app = build_cloud_app(settings, store=store, clock=clock, reader_process=True)
    http: TestClient[Any, Any] = TestClient(TestServer(app))
    await http.start_server()
    try:
        assert app[READER]._pool is not None  # started with the app
        headers = {"Authorization": f"Bearer {link['device_key']}"}
        big = [event("order.recorded", order(f"B-{i}")) for i in range(400)]
        big[7] = event("order.recorded", order("B-7", stamps=-1))  # pydantic's reason
        assert len(json.dumps({"events": big})) > MIN_BYTES
        small = [event("order.recorded", order("S-1")), big[0]]
        for batch in (big, small):
            resp = await http.post("/v1/sync/events", json={"events": batch}, headers=headers)
            assert resp.status == 200, await resp.text()
            got = (await resp.json())["results"]
            want = ["applied"] * len(batch)
            if batch is big:
                want[7] = "rejected"
            else:
                want[1] = "duplicate"
            assert [r["status"] for r in got] == want
        assert got[1]["reason"] is None
        # the helper dies (killed, out of memory): batches are read in the cloud process
        pool = app[READER]._pool
        assert pool is not None
        for proc in list(pool._processes.values()):
            proc.kill()
        again = [event("order.recorded", order(f"C-{i}")) for i in range(400)]
        resp = await http.post("/v1/sync/events", json={"events": again}, headers=headers)
        assert resp.status == 200 and app[READER]._pool is None
        assert {r["status"] for r in (await resp.json())["results"]} == {"applied"}
    finally:
        await http.close()
    assert app[READER]._pool is None  # stopped with the app
