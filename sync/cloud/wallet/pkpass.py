"""A ``.pkpass``: the pass's files, ``manifest.json`` (the SHA-1 of every file) and
``signature``, a detached PKCS#7 signature in DER over the manifest by the Pass Type ID
certificate, carrying Apple's WWDR intermediate and a signing time, all in one zip.

The signature is made with ``Binary`` so the manifest's bytes are signed as they are (without it
S/MIME canonicalises line ends, and a manifest with a newline no longer verifies).
"""

import hashlib
import io
import json
import zipfile
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from sync.cloud.wallet.credentials import AppleCredentials

CONTENT_TYPE = "application/vnd.apple.pkpass"


def manifest(files: dict[str, bytes]) -> bytes:
    """``manifest.json``: each file's name to the hex SHA-1 of its bytes."""
    digests = {name: hashlib.sha1(data).hexdigest() for name, data in sorted(files.items())}  # noqa: S324 (Apple's format)
    return json.dumps(digests, indent=1).encode()


def sign(manifest_bytes: bytes, creds: AppleCredentials) -> bytes:
    """The detached DER PKCS#7 signature of the manifest (with the signing time attribute)."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest_bytes)
        .add_signer(creds.cert, creds.key, hashes.SHA256())
        .add_certificate(creds.wwdr)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )


def build_pkpass(
    pass_json: dict[str, Any], images: dict[str, bytes], creds: AppleCredentials
) -> bytes:
    """The ``.pkpass`` zip: ``pass.json``, the images, ``manifest.json`` and ``signature``."""
    files = {"pass.json": json.dumps(pass_json, ensure_ascii=False).encode(), **images}
    man = manifest(files)
    files["manifest.json"] = man
    files["signature"] = sign(man, creds)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()
