"""The agent's settings: ``[agent]``, ``[cloud]``, ``[program]``, ``[printer]``, ``[[scanner]]``."""

import importlib.util
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.listen import Listening, is_loopback
from sync.contract.languages import Language
from sync.contract.limits import MAX_BATCH, BatchSize
from sync.contract.program import Program, Step


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentSection(_Section, Listening):
    """``[agent]``: where the POS reaches the agent and where it keeps its data."""

    listen: str = "127.0.0.1:8787"
    token: SecretStr = SecretStr("")
    data_dir: Path = Path("./var/agent")
    mode: Literal["receipt_qr", "identified"] = "receipt_qr"
    branch_timezone: str = "UTC"
    # the branch's language: receipts, the status, kiosk, staff and pairing pages; unset: the
    # business's language as the cloud last sent it (English until the first sync)
    language: Language | None = None
    claim_ttl_hours: int = Field(default=24 * 30, ge=1, le=65535)
    autopilot_window_s: float = Field(default=120.0, gt=0)
    kiosk_cooldown_s: float = Field(default=600.0, ge=0)
    acked_retention_days: float = Field(default=7.0, ge=0)
    # checks, scans and print jobs are deleted after this many days (never before they synced);
    # a void or reprint of an older check answers 410 order_pruned
    retention_days: float = Field(default=400.0, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    log_json: bool = False
    # Web pages (scheme://host[:port]) allowed to call the agent from a browser (CORS); any
    # other site's request that changes something is refused.
    allowed_origins: list[str] = []
    # Host names the agent answers to besides IP addresses and localhost (DNS rebinding guard).
    allowed_hosts: list[str] = []
    # /health says "degraded" (disk "low") when the data folder's disk has less room than this.
    min_free_disk_mb: int = Field(default=64, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_access: bool = False  # one line a request; keys, tokens and query values never shown
    # HTTPS for phones and tablets on the LAN: browsers give the camera only to secure origins.
    tls_cert: Path | None = None  # PEM certificate chain
    tls_key: Path | None = None  # PEM private key (unencrypted)
    # a reward redeemed while the cloud cannot be asked: refused (503), or allowed from the
    # card cache and sent to the cloud later (a code is never redeemed twice on this agent)
    offline_redeem: Literal["refuse", "allow"] = "refuse"
    # POST /v1/orders/quote asks the cloud for at most this long, then answers from the cache
    quote_budget_ms: int = Field(default=300, ge=10, le=10_000)
    # a redeem waits this long for the cloud before it counts as unreachable
    redeem_timeout_s: float = Field(default=3.0, gt=0, le=60)

    @model_validator(mode="after")
    def _tls_pair(self) -> "AgentSection":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("agent.tls_cert and agent.tls_key: give both or neither")
        return self

    @property
    def database(self) -> Path:
        """The agent's SQLite file (outbox, orders, print jobs, card cache)."""
        return self.data_dir / "agent.db"


class CloudLink(_Section):
    """``[cloud]`` in the agent's file: the link to the cloud store and the QR signing secret."""

    url: str = "http://127.0.0.1:8788"
    device_key: SecretStr = SecretStr("")
    device_secret: SecretStr = SecretStr("")
    claim_base_url: str = "http://127.0.0.1:8788/c/"
    uppercase_claim_url: bool = True
    timeout_s: float = Field(default=10.0, gt=0)
    batch_size: BatchSize = MAX_BATCH
    sync_interval_s: float = Field(default=5.0, gt=0)
    max_backoff_s: float = Field(default=300.0, gt=0)

    @property
    def device_id(self) -> int:
        """The device number carried in the device key (``sk_<device>_<random>``); 0 if none."""
        parts = self.device_key.get_secret_value().split("_")
        if len(parts) >= 3 and parts[0] == "sk" and parts[1].isdigit():
            return int(parts[1])
        return 0


class PosSection(_Section):
    """``[pos]``: the POS's webhook, told each check's rewards once the cloud has applied it."""

    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")  # HMAC-SHA256 key of X-Stampedge-Signature
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_backoff_s: float = Field(default=300.0, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("pos.webhook_url must start with http:// or https://")
        return v

    @model_validator(mode="after")
    def _signed(self) -> "PosSection":
        if self.webhook_url and len(self.webhook_secret.get_secret_value()) < 16:
            raise ValueError(
                "pos.webhook_secret: give at least 16 characters when pos.webhook_url is set "
                "(it signs X-Stampedge-Signature)"
            )
        return self


class ProgramSettings(Program):
    """``[program]``: the offline default rule until the cloud sends the branch's program."""

    # ``Program``'s fields and limits; here unknown keys are refused and the default step is
    # written "10.00" as it always was. (The docstring is the settings schema's description.)

    model_config = ConfigDict(extra="forbid", frozen=False)

    step: Step = Decimal("10.00")


class PrinterSettings(_Section):
    """``[printer]``: the receipt printer beside the till."""

    kind: Literal["network", "serial", "usb", "cups", "file", "none"] = "none"
    address: str = "127.0.0.1:9100"
    device: str = "/dev/ttyUSB0"
    baudrate: int = Field(default=9600, gt=0)
    flow_control: Literal["none", "dsrdtr", "xonxoff", "rtscts"] = "none"
    vendor_id: int = 0
    product_id: int = 0
    cups_queue: str = ""  # cups: the queue's name (lpstat -p); empty = the default queue
    cups_server: str = "localhost:631"  # cups: the CUPS server
    path: Path = Path("./var/agent/receipts")
    profile: str = "default"
    qr: Literal["auto", "native", "image", "star"] = "auto"
    qr_module_size: int = Field(default=4, ge=1, le=16)
    qr_error_correction: Literal["L", "M", "Q", "H"] = "M"
    connect_timeout_s: float = Field(default=2.0, gt=0)
    write_timeout_s: float = Field(default=5.0, gt=0)
    status_timeout_s: float = Field(default=0.5, gt=0)
    job_ttl_s: float = Field(default=3600.0, gt=0)
    header: str = ""
    # the line above the QR; empty: "Scan for your stamps" in the branch's language
    footer_text: str = ""
    code_page: str = "CP858"  # python-escpos profile code page name; CP437 if the model lacks it
    require_status: bool = True  # a printer that stays silent to DLE EOT fails the job (no_answer)
    status_poll_s: float = Field(default=60.0, ge=0)  # idle status check for /health; 0 = off

    @model_validator(mode="after")
    def _cups_installed(self) -> "PrinterSettings":
        # Said at start-up, in one line, rather than as a printer that never prints.
        if self.kind == "cups" and importlib.util.find_spec("cups") is None:
            raise ValueError(
                'printer.kind = "cups" needs pycups: pip install pycups (it builds against '
                "libcups2-dev: apt-get install libcups2-dev gcc), or drive the printer "
                'directly with kind = "usb", "serial" or "network"'
            )
        return self


class ScannerSettings(_Section):
    """One ``[[scanner]]``: a barcode scanner at a till or kiosk."""

    name: str | None = None  # shown on /health and in the scans table; default kind:device#n
    kind: Literal["serial", "hid", "tcp"] = "serial"
    device: str = "/dev/ttyACM0"
    address: str = "127.0.0.1:9200"
    baudrate: int = Field(default=9600, gt=0)
    suffix: Literal["\r", "\n", "\r\n"] = "\r"
    layout: Literal["us", "de"] = "us"  # HID keyboard layout the scanner is set to
    grab: bool = True
    till: str = "till-1"
    # redeem: a till's scanner for reward codes (a card read there still goes to the check)
    mode: Literal["autopilot", "kiosk", "redeem"] = "autopilot"


class AgentSettings(BaseSettings):
    """All of the agent's settings."""

    model_config = SettingsConfigDict(
        env_prefix="STAMPEDGE_", env_nested_delimiter="__", extra="forbid"
    )

    agent: AgentSection = AgentSection()
    cloud: CloudLink = CloudLink()
    program: ProgramSettings = ProgramSettings()
    printer: PrinterSettings = PrinterSettings()
    scanner: list[ScannerSettings] = []
    pos: PosSection = PosSection()

    @model_validator(mode="after")
    def _safe(self) -> "AgentSettings":
        if not is_loopback(self.agent.host) and not self.agent.token.get_secret_value():
            raise ValueError(
                "agent.token: required when agent.listen is not a loopback address "
                f"({self.agent.listen}); set a token or listen on 127.0.0.1"
            )
        secret = self.cloud.device_secret.get_secret_value()
        if self.agent.mode == "receipt_qr" and len(secret) < 16:
            raise ValueError(
                "cloud.device_secret: receipt_qr mode signs QR codes with it; "
                "give at least 16 characters (stampedge cloud init prints one)"
            )
        return self
