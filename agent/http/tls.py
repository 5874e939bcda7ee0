"""HTTPS for the agent: phones and tablets on the shop's LAN get the camera only from a secure
origin, so the agent can serve its pages with its own certificate (``agent.tls_cert`` and
``agent.tls_key``). A certificate that cannot be loaded stops start-up with one line."""

import ssl
from pathlib import Path

from config import ConfigError


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context for ``cert`` (PEM chain) and ``key`` (PEM, unencrypted)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(
            f"agent.tls_cert / agent.tls_key: cannot load {cert} with {key}: {err}"
        ) from err
    return ctx


def agent_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The configured context, or None to serve plain HTTP."""
    if cert is None or key is None:
        return None
    return server_context(cert, key)
