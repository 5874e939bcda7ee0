"""The wallet's key material, read and checked once when the cloud starts.

A missing or unreadable file, a file that is not what its key says, a certificate that does not
match its private key or is expired: ``WalletConfigError`` whose text is one line naming the
setting (``wallet.apple.cert: ...``), which the CLI prints before exiting non-zero.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from config import ConfigError
from config.cloud import AppleWalletSection, GoogleWalletSection

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class WalletConfigError(ConfigError):
    """A wallet setting that stops start-up; ``str()`` names the key."""


@dataclass(frozen=True)
class AppleCredentials:
    """The Pass Type ID certificate and key, Apple's WWDR intermediate, and APNs's auth."""

    cert: x509.Certificate
    key: SigningKey
    wwdr: x509.Certificate
    cert_path: Path
    key_path: Path
    key_password: str
    apns_key: ec.EllipticCurvePrivateKey | None  # token auth
    apns_ca: Path | None


@dataclass(frozen=True)
class GoogleCredentials:
    """A Google service account: who signs save links and asks for API tokens."""

    client_email: str
    key: rsa.RSAPrivateKey
    key_id: str
    token_uri: str


def _read(setting: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WalletConfigError(f"{setting}: {path}: no such file") from None
    except OSError as err:
        raise WalletConfigError(f"{setting}: {path}: cannot read: {err.strerror}") from None


def _certificate(setting: str, path: Path, now: datetime) -> x509.Certificate:
    raw = _read(setting, path)
    try:
        cert = x509.load_pem_x509_certificate(raw)
    except ValueError:
        try:
            cert = x509.load_der_x509_certificate(raw)
        except ValueError:
            raise WalletConfigError(f"{setting}: {path}: not a certificate (PEM or DER)") from None
    if now > cert.not_valid_after_utc:
        raise WalletConfigError(
            f"{setting}: {path}: the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    if now < cert.not_valid_before_utc:
        raise WalletConfigError(
            f"{setting}: {path}: the certificate is valid only from "
            f"{cert.not_valid_before_utc:%Y-%m-%d}"
        )
    return cert


def _private_key(setting: str, path: Path, password: str) -> PrivateKeyTypes:
    raw = _read(setting, path)
    try:
        return serialization.load_pem_private_key(raw, password.encode() or None)
    except TypeError:
        hint = "it is encrypted: set key_password" if not password else "it is not encrypted"
        raise WalletConfigError(f"{setting}: {path}: {hint}") from None
    except ValueError:
        raise WalletConfigError(
            f"{setting}: {path}: not a PEM private key, or the password is wrong"
        ) from None


def _public(key: Any) -> bytes:
    raw: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw


def load_apple(section: AppleWalletSection, now: datetime) -> AppleCredentials:
    """Read and check ``[wallet.apple]``'s files."""
    cert = _certificate("wallet.apple.cert", section.cert, now)
    key = _private_key("wallet.apple.key", section.key, section.key_password)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise WalletConfigError(f"wallet.apple.key: {section.key}: not an RSA or EC key")
    if _public(key.public_key()) != _public(cert.public_key()):
        raise WalletConfigError(
            f"wallet.apple.key: {section.key}: does not match the certificate {section.cert}"
        )
    wwdr = _certificate("wallet.apple.wwdr", section.wwdr, now)
    apns_key = None
    if section.apns_auth == "token":
        if section.apns_key is None or not section.apns_key_id:
            raise WalletConfigError(
                "wallet.apple.apns_key: token auth needs apns_key (.p8) and apns_key_id"
            )
        loaded = _private_key("wallet.apple.apns_key", section.apns_key, "")
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise WalletConfigError(
                f"wallet.apple.apns_key: {section.apns_key}: not an EC (.p8) key"
            )
        apns_key = loaded
    if section.apns_ca is not None:
        _certificate("wallet.apple.apns_ca", section.apns_ca, now)
    return AppleCredentials(
        cert=cert,
        key=key,
        wwdr=wwdr,
        cert_path=section.cert,
        key_path=section.key,
        key_password=section.key_password,
        apns_key=apns_key,
        apns_ca=section.apns_ca,
    )


def load_google(section: GoogleWalletSection) -> GoogleCredentials:
    """Read and check ``[wallet.google]``'s service account file."""
    setting = "wallet.google.service_account"
    raw = _read(setting, section.service_account)
    try:
        data = json.loads(raw)
        email, pem = str(data["client_email"]), str(data["private_key"])
        key_id = str(data.get("private_key_id", ""))
        token_uri = str(data.get("token_uri", "https://oauth2.googleapis.com/token"))
    except (ValueError, KeyError, TypeError):
        raise WalletConfigError(
            f"{setting}: {section.service_account}: not a service account key "
            "(JSON with client_email and private_key)"
        ) from None
    try:
        key = serialization.load_pem_private_key(pem.encode(), None)
    except (ValueError, TypeError):
        raise WalletConfigError(
            f"{setting}: {section.service_account}: private_key is not a PEM key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise WalletConfigError(f"{setting}: {section.service_account}: not an RSA key")
    return GoogleCredentials(client_email=email, key=key, key_id=key_id, token_uri=token_uri)
