"""A check's answer and event payload as plain JSON values, built by hand on the hot path.

They hold exactly what ``OrderAnswer.model_dump(mode="json")`` and
``OrderPayload.model_dump(mode="json", exclude_none=True)`` would (a property test keeps them
equal): building three pydantic models per check and serialising them cost more than the
order's own logic. The models stay the contract (OpenAPI, the printer's receipt, the cloud).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sync.contract.customers import CustomerRef


def iso(at: datetime) -> str:
    """An aware datetime as pydantic writes it in JSON (UTC as ``Z``)."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def customer_answer(ref: CustomerRef | None) -> dict[str, str | None] | None:
    """The customer as the answer shows it (all three keys)."""
    if ref is None:
        return None
    return {"card": ref.card, "number": ref.number, "email": ref.email}


def customer_payload(ref: CustomerRef | None) -> dict[str, str] | None:
    """The customer as the event carries it (only the key given)."""
    if ref is None:
        return None
    return {ref.kind: ref.text}


def order_answer(
    *,
    order_id: str,
    stamps: int,
    rule: str,
    total: Decimal,
    currency: str,
    till: str | None,
    customer: CustomerRef | None,
    autopilot: bool,
    claim_url: str | None,
    expires_at: datetime | None,
    recorded_at: datetime,
) -> dict[str, Any]:
    """``OrderAnswer`` as JSON values (``print`` is filled in by the printer, if any)."""
    claim = None
    if claim_url is not None and expires_at is not None:
        claim = {"url": claim_url, "expires_at": iso(expires_at)}
    return {
        "order_id": order_id,
        "stamps": stamps,
        "rule": rule,
        "total": str(total),
        "currency": currency,
        "till": till,
        "customer": customer_answer(customer),
        "autopilot": autopilot,
        "claim": claim,
        "print": None,
        "recorded_at": iso(recorded_at),
    }


def order_payload(
    *,
    order_id: str,
    total: Decimal,
    currency: str,
    till: str | None,
    stamps: int,
    rule: str,
    customer: CustomerRef | None,
    order_ref: str | None,
    expires_at: datetime | None,
) -> dict[str, Any]:
    """``OrderPayload`` as JSON values without the empty fields (the event's payload)."""
    payload: dict[str, Any] = {
        "order_id": order_id,
        "total": str(total),
        "currency": currency,
        "stamps": stamps,
        "rule": rule,
    }
    if till is not None:
        payload["till"] = till
    if customer is not None:
        payload["customer"] = customer_payload(customer)
    if order_ref is not None:
        payload["order_ref"] = order_ref
    if expires_at is not None:
        payload["claim_expires_at"] = iso(expires_at)
    return payload
