"""Throw-away certificates for ``stampedge demo``: a test root CA, a "WWDR" intermediate and a
Pass Type ID certificate with its key, so a newcomer can download a ``.pkpass`` and inspect it.
An iPhone installs only passes signed with a certificate Apple issued; these are not."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PASS_TYPE_ID = "pass.demo.stampedge"  # noqa: S105 (an identifier, not a password)


@dataclass(frozen=True)
class DemoCertificates:
    """The files written."""

    root: Path
    wwdr: Path
    cert: Path
    key: Path


def _cert(
    cn: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey, *, ca: bool
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def demo_certificates(folder: Path) -> DemoCertificates:
    """The demo's certificates in ``folder``: made on first use (or when expired), then kept."""
    out = DemoCertificates(
        root=folder / "demo-root-ca.pem",
        wwdr=folder / "demo-wwdr.pem",
        cert=folder / "demo-pass.pem",
        key=folder / "demo-pass.key",
    )
    if all(p.exists() for p in (out.root, out.wwdr, out.cert, out.key)):
        made = x509.load_pem_x509_certificate(out.cert.read_bytes())
        if made.not_valid_after_utc > datetime.now(UTC) + timedelta(days=1):
            return out
    folder.mkdir(parents=True, exist_ok=True)
    root_key, wwdr_key, pass_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)
    )
    root_cn, wwdr_cn = "Stampedge demo root CA (not Apple)", "Stampedge demo WWDR (not Apple)"
    pem = serialization.Encoding.PEM
    out.root.write_bytes(_cert(root_cn, root_key, root_cn, root_key, ca=True).public_bytes(pem))
    out.wwdr.write_bytes(_cert(wwdr_cn, wwdr_key, root_cn, root_key, ca=True).public_bytes(pem))
    leaf = _cert(f"Pass Type ID: {PASS_TYPE_ID}", pass_key, wwdr_cn, wwdr_key, ca=False)
    out.cert.write_bytes(leaf.public_bytes(pem))
    out.key.touch(mode=0o600)
    out.key.write_bytes(
        pass_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return out
