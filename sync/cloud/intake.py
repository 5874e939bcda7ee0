"""The fast road for ``POST /v1/sync/events`` bodies (pure): decoded JSON to ``Incoming`` events.

A batch of 500 through pydantic (the envelope, then each payload's model), ``json`` and the
ledger's value types cost about 150 µs of Python per event, more than the database work. This
module reads the common, well-formed batch with ``orjson`` and plain checks instead, and only
*accepts*: whatever it is not sure of (a float, an unusual time or UUID spelling, an extra
field, a value pydantic would coerce or refuse) it hands back, and the caller takes the pydantic
road for it, which alone words rejections and 422 answers. Accepting only what the wire models
accept, with equal values, is what ``tests/sync/cloud/test_intake.py`` checks against them.
``bench/fast_paths.py``, 2026-12-07: 11.1 µs an event against 28.8 µs through ``EventBatch`` and
``ledger.incoming``, on a cloud that spends some 35-50 µs of CPU an event in all: it pays.

Two levels of "not sure":

- the envelope (``{"events": [{id, type, device_time, payload}, ...]}``): ``read_batch`` returns
  ``None`` and the whole body goes through ``EventBatch`` (422 answers come from there);
- one payload: ``fast_record`` returns ``None`` and that payload alone goes through its model
  (``ledger.record_or_rejected``), so a malformed event is rejected with pydantic's words.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from sync.cloud import ledger
from sync.cloud.book import Rejected, order_refs, to_us
from sync.cloud.records import (
    AttachIn,
    BatchKeys,
    Incoming,
    OrderIn,
    Record,
    RedeemIn,
    ScanIn,
    VoidIn,
)
from sync.contract.customers import canonical_card, canonical_email
from sync.contract.events import EventType, canonical_json_plain, payload_hash_canonical
from sync.contract.limits import (
    CARD_TEXT_MAX_LEN,
    CUSTOMER_NUMBER_RE,
    EMAIL_MAX_LEN,
    MAX_BATCH,
    MAX_STAMPS_PER_ORDER,
    RULE_NAMES,
    is_order_id,
    is_till,
)

T = TypeVar("T")
_EVENT_KEYS = frozenset({"id", "type", "device_time", "payload"})
# Every ASCII digit as 0 and "+" as "-": the two shapes agents' times have (``_isoformat_shape``)
_SHAPE = str.maketrans({**{str(d): "0" for d in range(10)}, "+": "-"})
_ISOFORMATS = frozenset({"0000-00-00T00:00:00.000000-00:00", "0000-00-00T00:00:00-00:00"})
# ``json.dumps(type)`` of the known event types, as ``protocol.payload_hash_canonical`` writes
_TYPE_JSON = {t.value: json.dumps(t.value).encode() for t in EventType}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# What ``datetime.isoformat()`` writes (seconds, optional micro-, milliseconds, optional offset
# in whole minutes) and ``Z``; pydantic reads the same instant from each.
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?"
    r"(Z|[+-][0-9]{2}:[0-5][0-9])?"  # (fromisoformat takes "+05:80"; pydantic refuses it)
)
_DECIMAL = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")
# No leading zeros, and not so small that ``Decimal`` writes an exponent (below 1e-6)
_PLAIN_DECIMAL = re.compile(r"-?(?:[1-9][0-9]{0,19}(?:\.[0-9]{1,20})?|0(?:\.(?!0{6})[0-9]{1,20})?)")
_EMAIL = re.compile(r"[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+")  # ASCII, no space, one @
_MAX_DEPTH = 16  # payloads are flat; deeper ones take the pydantic road

_ORDER_KEYS = frozenset(
    {"order_id", "total", "currency", "till", "stamps", "rule", "customer", "order_ref",
     "claim_expires_at"}
)  # fmt: skip
_ATTACH_KEYS = frozenset({"order_id", "customer", "till"})
_VOID_KEYS = frozenset({"order_id", "reason", "till"})
_SCAN_KEYS = frozenset({"scan_id", "customer", "till", "stamps"})
_REF_KEYS = frozenset({"card", "number", "email"})
_ORDER_TYPES = frozenset(
    {EventType.ORDER_STAMPED.value, EventType.RECEIPT_QR_ISSUED.value,
     EventType.ORDER_RECORDED.value}
)  # fmt: skip


class _Unsure(Exception):
    """Raised inside the checks: hand this one to pydantic."""


def read_time(value: object) -> tuple[datetime, str] | None:
    """The time pydantic reads from ``value``, if plainly written, and its ``isoformat()``."""
    if type(value) is not str:
        return None
    if _isoformat_shape(value):
        try:
            at = datetime.fromisoformat(value)  # checks every digit and range
        except ValueError:
            return None
        if not value.endswith("-00:00") and value[19:26] != ".000000":
            return at, value
    shape = _TIME.fullmatch(value)
    if shape is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    fraction, offset = shape.groups()
    # ``isoformat()`` writes six fraction digits unless they are all zero, and no ``Z``
    if (
        (fraction is None or (len(fraction) == 7 and fraction != ".000000"))
        and offset != "Z"
        and offset != "-00:00"
    ):
        return at, value  # already as ``isoformat()`` writes it (the common case: agents)
    return at, at.isoformat()


def _isoformat_shape(text: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM`` in ASCII digits, offset minutes below 60: what
    ``datetime.isoformat()`` of an aware time writes (``fromisoformat`` then checks ranges)."""
    return text.translate(_SHAPE) in _ISOFORMATS and text[-2] in "012345"


def time_text(value: object) -> str | None:
    """``datetime.isoformat()`` of the time pydantic reads from ``value``, if plainly written."""
    got = read_time(value)
    return None if got is None else got[1]


def _time_us(value: object) -> int:
    got = read_time(value)
    if got is None:
        raise _Unsure
    return to_us(got[0])


def _ref(value: object) -> str:
    """A ``CustomerRef`` dict as its index key (``book.ref_key``)."""
    if type(value) is not dict:
        raise _Unsure
    if len(value) == 1:  # what agents send
        ((kind, text),) = value.items()
        if kind not in _REF_KEYS:
            raise _Unsure
    else:
        if not value.keys() <= _REF_KEYS:
            raise _Unsure
        given = [(k, v) for k, v in value.items() if v is not None]
        if len(given) != 1:
            raise _Unsure
        kind, text = given[0]
    if type(text) is not str:
        raise _Unsure
    if kind == "card":
        if not 1 <= len(text) <= CARD_TEXT_MAX_LEN:
            raise _Unsure
        return "c:" + canonical_card(text)
    if kind == "number":
        if not CUSTOMER_NUMBER_RE.fullmatch(text):
            raise _Unsure
        return "n:" + text
    if len(text) > EMAIL_MAX_LEN or not _EMAIL.fullmatch(text):
        raise _Unsure
    return "e:" + canonical_email(text)


def _order_id(value: object) -> str:
    if type(value) is not str or not is_order_id(value):
        raise _Unsure
    return value


def _stamps(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_STAMPS_PER_ORDER:
        raise _Unsure
    return value


def _till(p: dict[str, Any]) -> str | None:
    till = p.get("till")
    if till is not None and not is_till(till):
        raise _Unsure
    return till


def _total(value: object) -> str:
    if type(value) is str:
        if _PLAIN_DECIMAL.fullmatch(value):
            return value  # ``str(Decimal(value))`` would write it back alike
        if _DECIMAL.fullmatch(value):
            return str(Decimal(value))
    elif type(value) is int:
        return str(Decimal(value))
    raise _Unsure


def _order(p: dict[str, Any]) -> OrderIn:
    get = p.get
    rule = get("rule")
    order_id = get("order_id")
    stamps = get("stamps")
    till = get("till")
    order_ref = get("order_ref")
    if (
        not p.keys() <= _ORDER_KEYS
        or type(get("currency")) is not str
        or type(rule) is not str
        or rule not in RULE_NAMES
        or type(order_id) is not str
        or not is_order_id(order_id)
        or type(stamps) is not int
        or not 0 <= stamps <= MAX_STAMPS_PER_ORDER
        or (till is not None and not is_till(till))
        or (order_ref is not None and type(order_ref) is not str)
    ):
        raise _Unsure
    customer = get("customer")
    expires = get("claim_expires_at")
    return OrderIn(
        order_id,
        _total(get("total")),
        stamps,
        None if customer is None else _ref(customer),
        order_ref,
        None if expires is None else _time_us(expires),
        till,
    )


def _scan(p: dict[str, Any]) -> ScanIn:
    if not p.keys() <= _SCAN_KEYS or type(p.get("scan_id")) is not str:
        raise _Unsure
    _till(p)
    return ScanIn(_ref(p.get("customer")), _stamps(p.get("stamps")))


def _attach(p: dict[str, Any]) -> AttachIn:
    if not p.keys() <= _ATTACH_KEYS:
        raise _Unsure
    till = _till(p)
    return AttachIn(_order_id(p.get("order_id")), _ref(p.get("customer")), till)


def _void(p: dict[str, Any]) -> VoidIn:
    reason = p.get("reason")
    if not p.keys() <= _VOID_KEYS or (reason is not None and type(reason) is not str):
        raise _Unsure
    return VoidIn(_order_id(p.get("order_id")), _till(p))


def fast_record(event_type: str, payload: dict[str, Any]) -> Record | None:
    """The payload's record if its wire model surely accepts it (``None``: ask the model)."""
    try:
        if event_type in _ORDER_TYPES:
            return _order(payload)
        if event_type == EventType.SCAN_STAMPED:
            return _scan(payload)
        if event_type == EventType.ORDER_ATTACHED:
            return _attach(payload)
        if event_type == EventType.ORDER_VOIDED:
            return _void(payload)
    except _Unsure:
        return None
    return None


def _plain(value: object, depth: int = 0) -> bool:
    """No floats (the pydantic road reads them as ``Decimal``) and no deep nesting inside."""
    if depth > _MAX_DEPTH:
        return False
    items = value.values() if type(value) is dict else value
    for v in items:  # type: ignore[attr-defined]
        t = type(v)
        if t is float:
            return False
        if (t is dict or t is list) and not _plain(v, depth + 1):
            return False
    return True


def _canonical(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """``canonical_json_plain(payload)`` and ``payload_hash_canonical(kind, ...)`` of it,
    hashing the bytes ``orjson`` wrote instead of encoding the text again."""
    try:
        out = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        out = b"\x7f"  # takes the standard encoder's road below
    type_json = _TYPE_JSON.get(kind)
    if type_json is None or not out.isascii() or b"\x7f" in out:
        body = canonical_json_plain(payload)
        return body, payload_hash_canonical(kind, body)
    digest = hashlib.sha256(b'{"payload":' + out + b',"type":' + type_json + b"}").hexdigest()
    return out.decode("ascii"), digest


def read_batch(raw: bytes) -> list[Incoming] | None:
    """The body's events, checked and hashed; ``None``: let ``EventBatch`` read this body."""
    return _read(raw, Incoming)


def _read(raw: bytes, make: Callable[[str, str, str, str, str, Record | Rejected], T]) -> list[
    T
] | None:  # fmt: skip
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or len(data) != 1:
        return None
    events = data.get("events")
    if type(events) is not list or len(events) > MAX_BATCH:
        return None
    out: list[T] = []
    append = out.append
    for e in events:
        if type(e) is not dict or e.keys() != _EVENT_KEYS:
            return None
        eid, kind, payload = e["id"], e["type"], e["payload"]
        got = read_time(e["device_time"])
        if (
            got is None
            or type(eid) is not str
            or not _UUID.fullmatch(eid)
            or type(kind) is not str
            or type(payload) is not dict
        ):
            return None
        # a payload the fast checks take holds only text, integers and one flat object
        record = fast_record(kind, payload)
        if record is None and not _plain(payload):
            return None
        body, digest = _canonical(kind, payload)
        append(
            make(
                eid, kind, got[1], body, digest,
                ledger.record_or_rejected(kind, payload) if record is None else record,
            )
        )  # fmt: skip
    return out


# A batch as JSON arrays, for ``batch_reader``'s helper process: one ``orjson`` call each way
# instead of pickling objects: ``[events, order_ids, existing, qr_refs, card_refs]``, the
# ``batch_keys`` of the events worked out there too. An event is [id, type, device_time,
# payload_json, digest, kind, *fields], its record being ``_KINDS[kind](*fields)``.
# the types whose order (a new one) has no receipt QR to read
_NO_QR = frozenset({EventType.ORDER_STAMPED.value, EventType.ORDER_RECORDED.value})
_KINDS: dict[int, Callable[..., Record | Rejected]] = {
    0: OrderIn, 1: AttachIn, 2: VoidIn, 3: ScanIn, 4: Rejected, 5: RedeemIn
}  # fmt: skip


def _packed(
    eid: str, kind: str, device_time: str, body: str, digest: str, record: Record | Rejected
) -> list[Any]:
    if isinstance(record, OrderIn):
        fields = [record.order_id, record.total, record.stamps, record.customer,
                  record.order_ref, record.claim_expires_us, record.till]  # fmt: skip
        return [eid, kind, device_time, body, digest, 0, *fields]
    if isinstance(record, ScanIn):
        return [eid, kind, device_time, body, digest, 3, record.customer, record.stamps]
    if isinstance(record, AttachIn):
        return [eid, kind, device_time, body, digest, 1, record.order_id, record.customer,
                record.till]  # fmt: skip
    if isinstance(record, VoidIn):
        return [eid, kind, device_time, body, digest, 2, record.order_id, record.till]
    if isinstance(record, RedeemIn):
        return [eid, kind, device_time, body, digest, 5, record.code, record.order_id]
    return [eid, kind, device_time, body, digest, 4, record.reason]


def read_packed(raw: bytes) -> bytes | None:
    """``read_batch(raw)`` and its ``batch_keys``, packed for ``unpack`` (every integer in it
    came from ``orjson``, so ``orjson`` writes it back)."""
    rows = _read(raw, _packed)
    if rows is None:
        return None
    order_ids: set[str] = set()
    existing: set[str] = set()
    qr_refs: set[str] = set()
    card_refs: list[str] = []
    codes: set[str] = set()
    for r in rows:  # ``batch_keys``, over the packed events
        kind = r[5]
        if kind == 3:  # ScanIn
            card_refs.append(r[6])
        elif kind == 5:  # RedeemIn
            codes.add(r[6])
        elif kind != 4:  # OrderIn, AttachIn, VoidIn
            order_ids.add(r[6])
            if kind != 0:
                existing.add(r[6])
            if r[1] not in _NO_QR:  # the till is the packed record's last field
                qr_refs.update(order_refs(r[6], r[-1]))
            customer = r[9] if kind == 0 else r[7] if kind == 1 else None
            if customer is not None:
                card_refs.append(customer)
    return orjson.dumps(
        [rows, sorted(order_ids), sorted(existing), sorted(qr_refs), card_refs, sorted(codes)]
    )


def unpack(packed: bytes) -> tuple[list[Incoming], BatchKeys]:
    """The events ``read_packed`` packed, and their ``batch_keys``."""
    kinds = _KINDS
    rows, order_ids, existing, qr_refs, card_refs, codes = orjson.loads(packed)
    items = [Incoming(r[0], r[1], r[2], r[3], r[4], kinds[r[5]](*r[6:])) for r in rows]
    keys = BatchKeys(
        [r[0] for r in rows], set(order_ids), set(existing), set(qr_refs), card_refs, set(codes)
    )
    return items, keys
