"""Pydantic models of the back office's API: vouchers, batches and their figures, the plan."""

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sync.contract.customers import CustomerRef
from sync.web.texts import t

Title = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
MAX_BATCH = 1000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchIn(_In):
    """``POST /v1/vouchers/batch``: N single-use codes, each worth ``stamps`` stamps (``kind``
    ``stamps``: delivery inserts) or a voucher titled ``title`` (``kind`` ``voucher``)."""

    count: int = Field(ge=1, le=MAX_BATCH)
    kind: Literal["voucher", "stamps"] = "stamps"
    stamps: int = Field(default=1, ge=1, le=50)
    title: Title = "A gift from us"
    valid_days: int = Field(default=30, ge=1, le=3650)
    branch: int | None = Field(default=None, ge=1, le=2**62)


class VoucherIn(_In):
    """``POST /v1/vouchers``: one code; with ``customer`` it lands on that card at once (found
    by card code, number or email), without it the code is sent as a link."""

    kind: Literal["voucher", "stamps"] = "voucher"
    stamps: int = Field(default=1, ge=1, le=50)
    title: Title = "A gift from us"
    valid_days: int = Field(default=30, ge=1, le=3650)
    branch: int | None = Field(default=None, ge=1, le=2**62)
    customer: CustomerRef | None = None


_Titled = TypeVar("_Titled", BatchIn, VoucherIn)


def gift_titled(body: _Titled, lang: str) -> _Titled:
    """``body``, titled "A gift from us" in ``lang`` when it names no title of its own (the
    title is printed on the codes and shown on the customer's card)."""
    if "title" in body.model_fields_set:
        return body
    return body.model_copy(update={"title": t("bo.gift_title", lang)})


class CodeOut(BaseModel):
    """One code of a batch."""

    code: str
    url: str
    state: Literal["open", "claimed", "redeemed", "expired"]


class BatchOut(BaseModel):
    """A batch and its figures: printed, claimed, redeemed and the conversion (claimed/count)."""

    batch_id: int
    branch_id: int
    kind: Literal["voucher", "stamps"]
    stamps: int
    title: str
    count: int
    created_at: datetime
    expires_at: datetime
    printed: int
    claimed: int
    redeemed: int
    conversion: float
    codes: list[CodeOut] = []


class BatchList(BaseModel):
    """``GET /v1/vouchers/batch``: the business's batches, newest first (without codes)."""

    batches: list[BatchOut]


class InsertClaimIn(_In):
    """``POST /v1/inserts/{code}``: the card to credit (none: a new card)."""

    card_code: str | None = Field(default=None, max_length=64)


class PlanOut(BaseModel):
    """``GET /v1/plan``: the plan, this month's card operations and the overrun."""

    plan: Literal["self-hosted", "free", "paid"]
    month: str
    timezone: str
    ops_limit: int | None
    ops_used: int
    over_by: int
    seats_limit: int | None
    seats_used: int
