"""The JSON bodies of Apple's PassKit web service (pydantic only: the OpenAPI document names
them without importing the wallet's libraries)."""

from pydantic import BaseModel, Field


class Registration(BaseModel):
    """The body of a registration: the device's push token."""

    pushToken: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9]+$")


class LogBody(BaseModel):
    """What a device reports: ``{"logs": [...]}``."""

    logs: list[str] = Field(default_factory=list, max_length=1000)
