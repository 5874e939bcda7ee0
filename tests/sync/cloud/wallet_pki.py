"""A throw-away PKI for wallet tests: a root CA, a "WWDR" intermediate, a pass certificate and
key signed by it, a TLS server certificate for local stand-ins, and a Google service account."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.now(UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    not_after: datetime,
    san: list[str] | None = None,
) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=2))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False
        )
    return b.sign(issuer_key, hashes.SHA256())


def _pem_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _pem_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@dataclass
class Pki:
    """The files, by role."""

    root: Path
    wwdr: Path
    cert: Path
    key: Path
    other_key: Path  # a key that does not match ``cert``
    expired: Path  # a pass certificate that expired (for ``key``)
    server_cert: Path  # localhost, signed by the root (TLS stand-ins)
    server_key: Path
    service_account: Path
    google_public: Path


def make_pki(folder: Path) -> Pki:
    """Write a fresh PKI into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    root_key, wwdr_key, pass_key, server_key, google_key = (_key() for _ in range(5))
    year = NOW + timedelta(days=365)
    root = _cert("Test Root CA", root_key, "Test Root CA", root_key, ca=True, not_after=year)
    wwdr = _cert("Test WWDR", wwdr_key, "Test Root CA", root_key, ca=True, not_after=year)
    cert = _cert("Pass Type ID: pass.test.stamps", pass_key, "Test WWDR", wwdr_key,
                 ca=False, not_after=year)  # fmt: skip
    expired = _cert("Pass Type ID: old", pass_key, "Test WWDR", wwdr_key, ca=False,
                    not_after=NOW - timedelta(days=1))  # fmt: skip
    server = _cert("localhost", server_key, "Test Root CA", root_key, ca=False,
                   not_after=year, san=["localhost"])  # fmt: skip
    account = folder / "service-account.json"
    account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "wallet@test-project.iam.gserviceaccount.com",
                "private_key_id": "key-1",
                "private_key": google_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
                "token_uri": "http://127.0.0.1:9/token",
            }
        )
    )
    google_public = folder / "google-public.pem"
    google_public.write_bytes(
        google_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Pki(
        root=_pem_cert(folder / "root.pem", root),
        wwdr=_pem_cert(folder / "wwdr.pem", wwdr),
        cert=_pem_cert(folder / "pass.pem", cert),
        key=_pem_key(folder / "pass.key", pass_key),
        other_key=_pem_key(folder / "other.key", _key()),
        expired=_pem_cert(folder / "expired.pem", expired),
        server_cert=_pem_cert(folder / "server.pem", server),
        server_key=_pem_key(folder / "server.key", server_key),
        service_account=account,
        google_public=google_public,
    )


def apple_section(pki: Pki, **extra: object) -> dict[str, object]:
    """A ``[wallet.apple]`` table for these files."""
    return {
        "pass_type_id": "pass.test.stamps",
        "team_id": "TEAM123456",
        "organization_name": "Cafe Ltd",
        "cert": str(pki.cert),
        "key": str(pki.key),
        "wwdr": str(pki.wwdr),
        **extra,
    }
