"""Parsing and checking of ``host:port`` listen addresses."""

import ipaddress


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
