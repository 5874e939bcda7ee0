"""Request and answer models of the agent's HTTP API; the OpenAPI document is built from them."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent.rewards.models import CheckRewards, RedeemAnswer
from sync.contract.customers import CustomerRef
from sync.contract.limits import MAX_TOTAL, Currency, Money, OrderId, RuleName, Till


class ErrorBody(BaseModel):
    """What went wrong: a stable ``code``, a sentence, and the offending field if any."""

    code: str
    message: str
    field: str | None = None


class ErrorAnswer(BaseModel):
    """Every error answer: ``{"error": {...}}``."""

    error: ErrorBody


class OrderRequest(BaseModel):
    """``POST /v1/orders``: a paid check."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    order_id: OrderId = Field(description="The POS check id; the idempotency key.")
    total: Money = Field(
        ge=0, le=MAX_TOTAL, decimal_places=4, description="Amount paid, as a string or number."
    )
    currency: Currency | None = Field(default=None, description="ISO 4217; default from config.")
    till: Till | None = None
    customer: CustomerRef | None = None
    receipt_qr: bool | None = Field(default=None, description="Default from the agent's mode.")
    print_receipt: bool | None = Field(
        default=None, alias="print", description="Print the receipt QR (default: if a printer)."
    )


class ClaimInfo(BaseModel):
    """The receipt QR to print: scanning it with a phone claims the stamps."""

    url: str
    expires_at: datetime


class PrintInfo(BaseModel):
    """The print job of the receipt QR: the answer never waits for the paper."""

    job_id: str
    status: str
    reason: str | None = None  # why a job failed or went stale (paper_out, cover_open, ...)


class OrderAnswer(BaseModel):
    """``201``/``200`` answer of ``POST /v1/orders``."""

    order_id: str
    stamps: int
    rule: RuleName
    total: str
    currency: str
    till: str | None = None
    customer: CustomerRef | None = None
    autopilot: bool = False
    claim: ClaimInfo | None = None
    print: PrintInfo | None = None
    recorded_at: datetime


class VoidRequest(BaseModel):
    """``POST /v1/orders/{order_id}/void`` (the body is optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class VoidAnswer(BaseModel):
    """The check's stamps are taken back (and its unclaimed receipt QR cancelled)."""

    order_id: str
    voided: bool = True
    stamps: int
    voided_at: datetime


class OrderView(BaseModel):
    """``GET /v1/orders/{order_id}``: a check as this agent recorded it, and its void if any."""

    order: OrderAnswer  # as POST answered it; its print job as it is now, a card Autopilot added
    void: VoidAnswer | None = None
    rewards: CheckRewards | None = None  # what the cloud said the check did on the card
    redeemed: list[RedeemAnswer] = []  # rewards handed over on this check


class ScanRequest(BaseModel):
    """``POST /v1/scans``: a card scanned by staff or at a kiosk.

    ``kiosk`` (the default): a visit, once per card per cooldown; ``autopilot``: the card goes to
    the till's next check; ``manual``: staff stamp a visit (no cooldown, counted per device).
    """

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    till: Till | None = None
    mode: Literal["autopilot", "kiosk", "manual", "redeem"] | None = None


class ScanAnswer(BaseModel):
    """What became of a scan."""

    scan_id: str
    outcome: Literal["stamped", "attached", "pending", "throttled", "rejected", "redeemed"]
    kind: str | None = None
    reason: str | None = None  # a stable code: duplicate, cooldown, receipt_qr, too_long, ...
    message: str | None = None  # the reason in words: what the person at the scanner should do
    stamps: int = 0
    order_id: str | None = None
    customer: CustomerRef | None = None
    retry_after_s: float | None = None
    balance: int | None = None  # the card's stamps after this scan, as far as the agent knows
    goal: int | None = None  # the program's goal, to draw the progress
    reward_reached: bool = False  # this scan filled the card
    offline: bool = False  # saved, but the card could not be checked (cloud unreachable)
    reward: RedeemAnswer | None = None  # a reward code redeemed for the till's next check


class CustomerView(BaseModel):
    """A customer as the agent knows them."""

    customer_id: str | None = None
    card_code: str | None = None
    number: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    balance: int | None = None
    goal: int | None = None


class CustomersAnswer(BaseModel):
    """``GET /v1/customers``: matches, and whether they came from the cloud or the cache."""

    source: Literal["cloud", "cache"]
    customers: list[CustomerView]


class DeadEvent(BaseModel):
    """An event the cloud refused, and why (``stampedge queue dead`` lists them all)."""

    event_id: str
    type: str
    reason: str | None


class OutboxHealth(BaseModel):
    pending: int
    sent: int = 0
    dead: int
    acked: int
    oldest_pending_age_s: float | None
    dead_events: list[DeadEvent] = []  # the oldest few, with the cloud's reason


class CloudHealth(BaseModel):
    reachable: bool | None
    last_sync_at: datetime | None
    last_error: str | None = None


class DeviceHealth(BaseModel):
    state: str
    detail: str = ""


class ScannerHealth(BaseModel):
    name: str
    kind: str
    till: str
    mode: str
    state: str
    detail: str = ""


class HealthAnswer(BaseModel):
    """``GET /health``."""

    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    database: str = Field(description="the absolute path of the agent's SQLite file")
    outbox: OutboxHealth
    cloud: CloudHealth
    printer: DeviceHealth
    scanners: list[ScannerHealth]
    disk: DeviceHealth = DeviceHealth(state="ok", detail="")  # room left for the database
