"""The cloud store's settings: ``[cloud]`` and ``[wallet.*]`` in ``cloud.toml``."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.listen import Listening
from sync.contract.languages import DEFAULT_LANGUAGE, Language


class CloudSection(Listening):
    """``[cloud]``: where the store listens and which database it uses."""

    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:8788"
    database: str = "sqlite:///./var/cloud.db"
    public_url: str = "http://127.0.0.1:8788"
    # the business's language: customer pages (unless the phone asks for another), the
    # dashboard and back office, mails; sent to the agents in the sync state
    language: Language = DEFAULT_LANGUAGE
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    log_json: bool = False
    # Web sites (scheme://host[:port]) allowed to call the API from a browser (CORS); any other
    # site's POST, forms included, is refused.
    allowed_origins: list[str] = []
    # Behind a reverse proxy that sets X-Forwarded-For: throttles count guesses per address
    # the proxy saw (otherwise every client would share the proxy's address).
    behind_proxy: bool = False
    # /health answers 503 disk_low when the SQLite database's disk has less room than this.
    min_free_disk_mb: int = Field(default=64, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_access: bool = False  # one line a request; keys, tokens and query values never shown
    # a receipt QR's row (who claimed it, when) is deleted this many days after its token
    # expired (the token is refused by its expiry either way); checked hourly
    claim_retention_days: float = Field(default=30.0, ge=1)

    @field_validator("database")
    @classmethod
    def _database_ok(cls, v: str) -> str:
        if not v.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("expected sqlite:///PATH or postgresql://user@host/db")
        return v


_COLOUR = r"^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$"


class AppleWalletSection(BaseModel):
    """``[wallet.apple]``: the Pass Type ID certificate that signs passes and pushes updates.

    Files are read (and checked: readable, the certificate matches its key, not expired) when
    the cloud starts; a problem stops start-up with one line naming the key."""

    model_config = ConfigDict(extra="forbid")

    pass_type_id: str = Field(min_length=1, max_length=200)
    team_id: str = Field(min_length=1, max_length=20)
    organization_name: str = Field(min_length=1, max_length=200)
    cert: Path  # the Pass Type ID certificate (PEM)
    key: Path  # its private key (PEM)
    key_password: str = ""
    wwdr: Path  # Apple's WWDR intermediate certificate (PEM)
    apns_url: str = "https://api.push.apple.com"
    # certificate: APNs over TLS with the pass certificate; token: a .p8 key (ES256 JWTs)
    apns_auth: Literal["certificate", "token"] = "certificate"
    apns_key: Path | None = None  # token auth: the .p8 key
    apns_key_id: str = ""  # token auth: the key's id
    apns_ca: Path | None = None  # extra CA to trust for apns_url (a stand-in in tests)
    push_delay_ms: int = Field(default=250, ge=0, le=60_000)  # coalesces a burst of changes
    background_color: str = Field(default="rgb(60, 40, 30)", pattern=_COLOUR)
    foreground_color: str = Field(default="rgb(255, 255, 255)", pattern=_COLOUR)
    label_color: str = Field(default="rgb(230, 200, 160)", pattern=_COLOUR)

    @field_validator("apns_url")
    @classmethod
    def _https(cls, v: str) -> str:
        if not v.startswith("https://"):
            raise ValueError("APNs is reached over https://")
        return v.rstrip("/")


class GoogleWalletSection(BaseModel):
    """``[wallet.google]``: the issuer and the service account that signs save links."""

    model_config = ConfigDict(extra="forbid")

    issuer_id: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    service_account: Path  # the service account's JSON key file
    api_base: str = "https://walletobjects.googleapis.com/walletobjects/v1"
    background_color: str = Field(default="#3c281e", pattern=r"^#[0-9a-fA-F]{6}$")

    @field_validator("api_base")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL")
        return v.rstrip("/")


class WalletSection(BaseModel):
    """``[wallet]``: Apple Wallet and Google Wallet passes; without a section, no buttons."""

    model_config = ConfigDict(extra="forbid")

    apple: AppleWalletSection | None = None
    google: GoogleWalletSection | None = None


class MailSection(BaseModel):
    """``[mail]``: the SMTP server the cloud's mail outbox sends through (sign-in links,
    confirmations); without a host, messages wait in the outbox until one is configured."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str = Field(default="", max_length=255)
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "starttls"
    user: str = ""
    password: SecretStr = SecretStr("")  # never logged nor shown (SecretStr prints as ***)
    from_: str = Field(default="Stamp card <stamps@localhost>", alias="from", min_length=3)
    timeout_s: float = Field(default=30.0, gt=0, le=600)  # one SMTP conversation at most
    link_minutes: int = Field(default=30, ge=1, le=24 * 60)  # how long a sign-in link works


class CloudSettings(BaseSettings):
    """All of the cloud store's settings."""

    model_config = SettingsConfigDict(
        env_prefix="STAMPEDGE_", env_nested_delimiter="__", extra="forbid"
    )

    cloud: CloudSection = CloudSection()
    wallet: WalletSection = WalletSection()
    mail: MailSection = MailSection()
