"""The cloud store's settings: ``[cloud]`` in ``cloud.toml``."""

from pydantic import ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.listen import Listening


class CloudSection(Listening):
    """``[cloud]``: where the store listens and which database it uses."""

    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:8788"
    database: str = "sqlite:///./var/cloud.db"
    public_url: str = "http://127.0.0.1:8788"
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

    @field_validator("database")
    @classmethod
    def _database_ok(cls, v: str) -> str:
        if not v.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("expected sqlite:///PATH or postgresql://user@host/db")
        return v


class CloudSettings(BaseSettings):
    """All of the cloud store's settings."""

    model_config = SettingsConfigDict(
        env_prefix="STAMPEDGE_", env_nested_delimiter="__", extra="forbid"
    )

    cloud: CloudSection = CloudSection()
