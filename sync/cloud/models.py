"""Pydantic models of the cloud store's HTTP API and of a branch's program settings."""

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sync.contract.customers import CustomerRef
from sync.contract.events import ProgramState
from sync.contract.limits import MAX_TOTAL, CardText, Email, Money, OrderId
from sync.contract.phones import Phone
from sync.contract.program import PosProduct, Program, program_fields

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RewardKind = Literal["gift", "voucher", "lottery"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LotteryOdd(_In):
    """One outcome of the lottery moment and its weight."""

    outcome: Literal["gift", "voucher", "extra_try", "nothing"]
    weight: int = Field(ge=0, le=1_000_000)
    pos_product: PosProduct | None = None  # this outcome's POS line (default: the program's)


def _default_odds() -> list[LotteryOdd]:
    return [LotteryOdd(outcome="gift", weight=1), LotteryOdd(outcome="nothing", weight=3)]


class ProgramConfig(Program):
    """A branch's stamp card: the earning rule and goal, and what reaching the goal gives."""

    # The earning rule and goal are ``Program``'s fields with its limits, declared there only.
    # (The docstring is the OpenAPI description: kept as it was.)

    model_config = ConfigDict(extra="forbid", frozen=False)

    reward: RewardKind = "gift"
    reward_name: Name = "Free gift"
    voucher_valid_days: int | None = Field(default=30, ge=1, le=3650)
    voucher_expires_on: date | None = None
    activation_delay_hours: int = Field(default=0, ge=0, le=8760)
    lottery_odds: list[LotteryOdd] = Field(
        default_factory=_default_odds, min_length=1, max_length=4
    )
    lottery_budget: int | None = Field(default=None, ge=0)

    @field_validator("lottery_odds")
    @classmethod
    def _some_weight(cls, v: list[LotteryOdd]) -> list[LotteryOdd]:
        if sum(o.weight for o in v) <= 0:
            raise ValueError("at least one outcome needs a weight above 0")
        return v

    def rules(self) -> Program:
        """The earning rule as the agent's pure ``Program``."""
        return Program.of(self)

    def state(self, version: int) -> ProgramState:
        """What agents get through ``GET /v1/sync/state``."""
        return ProgramState(
            **program_fields(self),
            reward=self.reward,
            version=version,
            reward_name=self.reward_name,
        )


def check_timezone(name: str) -> str:
    """The IANA zone name if this machine knows it; ``ValueError`` otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err
    return name


class CustomerIn(_In):
    """``POST /v1/customers``."""

    email: Email | None = None
    name: Name | None = None
    phone: Phone | None = None
    branch_id: int | None = Field(default=None, ge=1, le=2**62)


class CustomerOut(BaseModel):
    """A customer and their card."""

    customer_id: str
    card_code: str
    number: str
    email: str | None = None
    name: str | None = None
    phone: str | None = None  # E.164
    balance: int
    goal: int


class CustomerList(BaseModel):
    """``GET /v1/customers?q=``."""

    customers: list[CustomerOut]


class RewardOut(BaseModel):
    """A gift or voucher on a card (lottery draws that gave nothing are not listed)."""

    code: str
    kind: Literal["gift", "voucher"]
    name: str
    state: Literal["issued", "active", "redeemed", "expired"]
    branch_id: int
    issued_at: datetime
    valid_from: datetime
    expires_at: datetime | None = None
    redeemed_at: datetime | None = None
    pos_product: PosProduct | None = None


class CardOut(CustomerOut):
    """``GET /v1/cards/{card_code}``: the card with its rewards."""

    business_id: int
    rewards: list[RewardOut]


class ClaimIn(_In):
    """``POST /v1/claims/{token}``: the card the phone presents, or details for a new card."""

    card_code: CardText | None = None
    # the card's link signature (``/card/{code}/{sig}``): a code alone is not proof of a card
    card_sig: CardText | None = None
    email: Email | None = None
    name: Name | None = None


class ClaimOut(BaseModel):
    """A successful claim: the stamps added and the card they landed on."""

    stamps: int
    new_card: bool
    customer_id: str
    card_code: str
    number: str
    balance: int
    goal: int
    rewards: list[RewardOut]


class ClaimPending(BaseModel):
    """A claim that named an existing card's email: nothing attached until the address proves
    itself (issue #19 mails a one-time link); the receipt stays claimable."""

    status: Literal["confirm_by_email"]
    message: str


class StampIn(_In):
    """``POST /v1/stamps``: the API channel."""

    order_id: OrderId
    total: Money = Field(ge=0, le=MAX_TOTAL, allow_inf_nan=False)
    customer: CustomerRef
    branch_id: int | None = Field(default=None, ge=1, le=2**62)


class StampOut(BaseModel):
    """The stamps an API order gave."""

    order_id: str
    branch_id: int
    stamps: int
    replay: bool = False  # the same order_id and body again: nothing added
    card: CustomerOut
    rewards: list[RewardOut]


class BranchIn(_In):
    """``POST /v1/branches``."""

    name: Name
    timezone: str = "UTC"
    program: ProgramConfig | None = None

    _tz = field_validator("timezone")(check_timezone)


class BranchOut(BaseModel):
    """A branch with its program."""

    branch_id: int
    business_id: int
    name: str
    timezone: str
    program: ProgramConfig
    program_version: int


class BranchList(BaseModel):
    """``GET /v1/branches``: the branches a key may see, with their programs."""

    branches: list[BranchOut]


class DeviceIn(_In):
    """``POST /v1/devices``."""

    branch_id: int = Field(ge=1, le=2**62)
    label: Name = "till"


class DeviceOut(BaseModel):
    """A new device: its key and secret are shown this once."""

    device_id: int
    branch_id: int
    label: str
    device_key: str
    device_secret: str


class AdminKeyOut(BaseModel):
    """``POST /v1/admin-key``: the business's new admin key, shown this once."""

    business_id: int
    admin_key: str


class DeviceState(BaseModel):
    """A device as the admin sees it later (never its key or secret)."""

    device_id: int
    branch_id: int
    label: str
    revoked_at: datetime | None = None


class DeviceList(BaseModel):
    """``GET /v1/devices``."""

    devices: list[DeviceState]


class RedeemOut(RewardOut):
    """``POST /v1/vouchers/{code}/redeem``."""

    customer_id: str
    card_code: str
    source: Literal["cloud", "offline"] = "cloud"


class Counts(BaseModel):
    """Figures of a day or a period."""

    orders: int = 0
    voids: int = 0
    stamps: int = 0
    qr_issued: int = 0
    qr_claimed: int = 0
    rewards_issued: int = 0
    rewards_redeemed: int = 0


class DayCounts(Counts):
    """Figures of one day in the branch's time zone."""

    day: date


class DeviceStats(BaseModel):
    """Figures of one device (till or staff login)."""

    device_id: int
    label: str
    days: list[DayCounts]
    total: Counts


class StatsOut(BaseModel):
    """``GET /v1/stats``."""

    branch_id: int
    timezone: str
    from_: date = Field(serialization_alias="from")
    to: date
    days: list[DayCounts]
    total: Counts
    devices: list[DeviceStats]
    redeem_conflicts: int = 0  # rewards redeemed a second time offline (never counted twice)
    voided_reward_checks: int = 0  # voids of checks that issued or redeemed a reward


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    """Every error answer."""

    error: ErrorDetail


class HealthOut(BaseModel):
    """``GET /health``: the database answers and its disk has room."""

    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    schema_version: int
