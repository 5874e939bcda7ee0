"""Parsing and checking of ``host:port`` listen addresses."""

import ipaddress

from pydantic import BaseModel, field_validator


def split_listen(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``[::1]:8787`` for IPv6) and check the port range."""
    host, sep, port_s = value.rpartition(":")
    if not sep or not host:
        raise ValueError("expected host:port, e.g. 127.0.0.1:8787")
    host = host.strip("[]")
    try:
        port = int(port_s)
    except ValueError as err:
        raise ValueError(f"port {port_s!r} is not a number") from err
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return host, port


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IPs; any other name or address counts as exposed."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Listening(BaseModel):
    """A settings section with a ``listen`` address (``host:port``), checked when read."""

    listen: str

    @field_validator("listen")
    @classmethod
    def _listen_ok(cls, v: str) -> str:
        split_listen(v)
        return v

    @property
    def host(self) -> str:
        """The address's host part (brackets of an IPv6 literal removed)."""
        return split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        """The address's port."""
        return split_listen(self.listen)[1]
