"""The fast road for ``POST /v1/sync/events`` bodies (pure): decoded JSON to ``Incoming`` events.

A batch of 500 through pydantic (the envelope, then each payload's model), ``json`` and the
ledger's value types cost about 150 µs of Python per event, more than the database work. This
module reads the common, well-formed batch with ``orjson`` and plain checks instead, and only
*accepts*: whatever it is not sure of (a float, an unusual time or UUID spelling, an extra
field, a value pydantic would coerce or refuse) it hands back, and the caller takes the pydantic
road for it, which alone words rejections and 422 answers. Accepting only what the wire models
accept, with equal values, is what ``tests/cloud/test_intake.py`` checks against them.

Two levels of "not sure":

- the envelope (``{"events": [{id, type, device_time, payload}, ...]}``): ``read_batch`` returns
  ``None`` and the whole body goes through ``EventBatch`` (422 answers come from there);
- one payload: ``fast_record`` returns ``None`` and that payload alone goes through its model
  (``ledger.record_or_rejected``), so a malformed event is rejected with pydantic's words.
"""

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from sync.cloud import ledger
from sync.cloud.book import to_us
from sync.cloud.records import AttachIn, Incoming, OrderIn, Record, ScanIn, VoidIn
from sync.protocol import MAX_BATCH, EventType, canonical_json, payload_hash_canonical

_EVENT_KEYS = frozenset({"id", "type", "device_time", "payload"})
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# What ``datetime.isoformat()`` writes (seconds, optional micro-, milliseconds, optional offset
# in whole minutes) and ``Z``; pydantic reads the same instant from each.
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}|\.[0-9]{6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_ORDER_ID = re.compile(r"[\x21-\x7e]{1,64}")  # OrderId
_DECIMAL = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")
_NUMBER = re.compile(r"[0-9]{6}")
_EMAIL = re.compile(r"[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+")  # ASCII, no space, one @
_MAX_DEPTH = 16  # payloads are flat; deeper ones take the pydantic road

_ORDER_KEYS = frozenset(
    {"order_id", "total", "currency", "till", "stamps", "rule", "customer", "order_ref",
     "claim_expires_at"}
)  # fmt: skip
_ATTACH_KEYS = frozenset({"order_id", "customer", "till"})
_VOID_KEYS = frozenset({"order_id", "reason"})
_SCAN_KEYS = frozenset({"scan_id", "customer", "till", "stamps"})
_REF_KEYS = frozenset({"card", "number", "email"})
_RULES = frozenset({"per_order", "by_amount"})
_ORDER_TYPES = frozenset(
    {EventType.ORDER_STAMPED.value, EventType.RECEIPT_QR_ISSUED.value,
     EventType.ORDER_RECORDED.value}
)  # fmt: skip


class _Unsure(Exception):
    """Raised inside the checks: hand this one to pydantic."""


def time_text(value: object) -> str | None:
    """``datetime.isoformat()`` of the time pydantic reads from ``value``, if plainly written."""
    if type(value) is not str or not _TIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _time_us(value: object) -> int:
    text = time_text(value)
    if text is None:
        raise _Unsure
    return to_us(datetime.fromisoformat(text))


def _ref(value: object) -> str:
    """A ``CustomerRef`` dict as its index key (``book.ref_key``)."""
    if type(value) is not dict or not value.keys() <= _REF_KEYS:
        raise _Unsure
    given = [(k, v) for k, v in value.items() if v is not None]
    if len(given) != 1:
        raise _Unsure
    kind, text = given[0]
    if type(text) is not str:
        raise _Unsure
    if kind == "card":
        if not 1 <= len(text) <= 64:
            raise _Unsure
        return "c:" + text.strip().upper()
    if kind == "number":
        if not _NUMBER.fullmatch(text):
            raise _Unsure
        return "n:" + text
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise _Unsure
    return "e:" + text.lower()


def _order_id(value: object) -> str:
    if type(value) is not str or not _ORDER_ID.fullmatch(value):
        raise _Unsure
    return value


def _stamps(value: object) -> int:
    if type(value) is not int or value < 0:
        raise _Unsure
    return value


def _till(p: dict[str, Any]) -> None:
    till = p.get("till")
    if till is not None and (type(till) is not str or not 1 <= len(till) <= 64):
        raise _Unsure


def _total(value: object) -> str:
    if type(value) is int or (type(value) is str and _DECIMAL.fullmatch(value)):
        return str(Decimal(value))
    raise _Unsure


def _order(p: dict[str, Any]) -> OrderIn:
    if not p.keys() <= _ORDER_KEYS or type(p.get("currency")) is not str:
        raise _Unsure
    rule = p.get("rule")
    if type(rule) is not str or rule not in _RULES:
        raise _Unsure
    _till(p)
    customer = p.get("customer")
    order_ref = p.get("order_ref")
    if order_ref is not None and type(order_ref) is not str:
        raise _Unsure
    expires = p.get("claim_expires_at")
    return OrderIn(
        order_id=_order_id(p.get("order_id")),
        total=_total(p.get("total")),
        stamps=_stamps(p.get("stamps")),
        customer=None if customer is None else _ref(customer),
        order_ref=order_ref,
        claim_expires_us=None if expires is None else _time_us(expires),
    )


def _scan(p: dict[str, Any]) -> ScanIn:
    if not p.keys() <= _SCAN_KEYS or type(p.get("scan_id")) is not str:
        raise _Unsure
    _till(p)
    return ScanIn(_ref(p.get("customer")), _stamps(p.get("stamps")))


def _attach(p: dict[str, Any]) -> AttachIn:
    if not p.keys() <= _ATTACH_KEYS:
        raise _Unsure
    _till(p)
    return AttachIn(_order_id(p.get("order_id")), _ref(p.get("customer")))


def _void(p: dict[str, Any]) -> VoidIn:
    reason = p.get("reason")
    if not p.keys() <= _VOID_KEYS or (reason is not None and type(reason) is not str):
        raise _Unsure
    return VoidIn(_order_id(p.get("order_id")))


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


def canonical_text(payload: dict[str, Any]) -> str:
    """``protocol.canonical_json(payload)`` for a float-free value decoded by ``orjson``: the
    same text (``test_intake.py`` proves it), through ``orjson`` when that gives pure printable
    ASCII, which the standard encoder would have written byte for byte alike."""
    try:
        out = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return canonical_json(payload)
    # Non-ASCII (escaped as \\uXXXX by ``ensure_ascii``) and DEL (escaped there, raw here)
    # are the only differences between the two encoders on such values.
    if out.isascii() and b"\x7f" not in out:
        return out.decode("ascii")
    return canonical_json(payload)


def read_batch(raw: bytes) -> list[Incoming] | None:
    """The body's events, checked and hashed; ``None``: let ``EventBatch`` read this body."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or len(data) != 1:
        return None
    events = data.get("events")
    if type(events) is not list or len(events) > MAX_BATCH:
        return None
    out: list[Incoming] = []
    for e in events:
        if type(e) is not dict or e.keys() != _EVENT_KEYS:
            return None
        eid, kind, payload = e["id"], e["type"], e["payload"]
        device_time = time_text(e["device_time"])
        if (
            device_time is None
            or type(eid) is not str
            or not _UUID.fullmatch(eid)
            or type(kind) is not str
            or type(payload) is not dict
            or not _plain(payload)
        ):
            return None
        body = canonical_text(payload)
        record = fast_record(kind, payload)
        out.append(
            Incoming(
                eid, kind, device_time, body, payload_hash_canonical(kind, body),
                ledger.record_or_rejected(kind, payload) if record is None else record,
            )
        )  # fmt: skip
    return out
