"""Apple Wallet passes as Apple's tooling checks them: the zip's layout, every manifest hash,
the detached signature verified by ``openssl smime`` against the test CA (and failing once a
file changes), a signing time; ``pass.json``'s keys; the private link and the admin route; and
start-up refused, in one line naming the key, for bad key material."""

import asyncio
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.store import Store
from sync.cloud.wallet.credentials import WalletConfigError
from sync.cloud.wallet.pass_json import PASS_KEYS, REQUIRED_KEYS
from tests.sync.cloud.conftest import Clock
from tests.sync.cloud.wallet_cloud import WalletCloud, pass_json, start_wallet_cloud
from tests.sync.cloud.wallet_pki import Pki, apple_section, make_pki

IMAGES = {f"{n}{s}.png" for n in ("icon", "logo", "strip") for s in ("", "@2x", "@3x")}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def wcloud(store: Store, clock: Clock, pki: Pki) -> AsyncIterator[WalletCloud]:
    wc = await start_wallet_cloud(
        store, clock, {"apple": apple_section(pki, apns_url="https://127.0.0.1:9")}
    )
    try:
        yield wc
    finally:
        await wc.http.close()


def _files(pkpass: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pkpass)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _openssl_verify(
    folder: Path, files: dict[str, bytes], root: Path
) -> subprocess.CompletedProcess[bytes]:
    (folder / "manifest.json").write_bytes(files["manifest.json"])
    (folder / "signature").write_bytes(files["signature"])
    return subprocess.run(
        ["openssl", "smime", "-verify", "-binary", "-inform", "DER",
         "-in", str(folder / "signature"), "-content", str(folder / "manifest.json"),
         "-CAfile", str(root), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, check=False,
    )  # fmt: skip


async def test_given_a_stamped_card_when_its_pass_is_built_then_apple_tooling_accepts_it(
    wcloud: WalletCloud, pki: Pki, tmp_path: Path
) -> None:
    card = await wcloud.new_card()
    for _ in range(3):
        await wcloud.stamp(card["card_code"])
    files = _files(await wcloud.pkpass(card["card_code"]))

    assert set(files) == {"pass.json", "manifest.json", "signature", *IMAGES}
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name
    done = _openssl_verify(tmp_path, files, pki.root)
    assert done.returncode == 0, done.stderr.decode()
    printed = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER",
         "-in", str(tmp_path / "signature")],
        capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert "signingTime" in printed
    assert "Test WWDR" in printed  # the intermediate travels with the signature

    doc = json.loads(files["pass.json"])
    assert set(doc) <= set(PASS_KEYS) and all(k in doc for k in REQUIRED_KEYS)
    for key, kind in PASS_KEYS.items():
        assert isinstance(doc[key], kind), key
    assert doc["serialNumber"] == card["card_code"]
    assert doc["passTypeIdentifier"] == "pass.test.stamps" and doc["teamIdentifier"] == "TEAM123456"
    assert doc["webServiceURL"] == "http://127.0.0.1:8788/wallet/apple"
    assert len(doc["authenticationToken"]) >= 16
    assert doc["barcodes"] == [
        {"format": "PKBarcodeFormatQR", "message": card["card_code"],
         "messageEncoding": "iso-8859-1", "altText": card["number"]}
    ]  # fmt: skip
    assert doc["storeCard"]["headerFields"][0]["value"] == "3 of 10"
    assert "7 stamps to go" in doc["storeCard"]["secondaryFields"][0]["value"]


async def test_given_a_pass_when_a_file_or_the_manifest_changes_then_it_no_longer_verifies(
    wcloud: WalletCloud, pki: Pki, tmp_path: Path
) -> None:
    card = await wcloud.new_card()
    files = _files(await wcloud.pkpass(card["card_code"]))
    changed = files["pass.json"].replace(b"0 of 10", b"9 of 10")
    assert changed != files["pass.json"]
    manifest = json.loads(files["manifest.json"])
    assert hashlib.sha1(changed).hexdigest() != manifest["pass.json"]
    manifest["pass.json"] = hashlib.sha1(changed).hexdigest()  # a forger updates the manifest
    forged = {**files, "manifest.json": json.dumps(manifest, indent=1).encode()}
    assert _openssl_verify(tmp_path, forged, pki.root).returncode != 0
    assert _openssl_verify(tmp_path, files, pki.root).returncode == 0


async def test_given_the_private_card_link_then_the_pass_downloads_and_a_wrong_link_is_404(
    wcloud: WalletCloud,
) -> None:
    card = await wcloud.new_card()
    page = await wcloud.http.get(f"/v1/cards/{card['card_code']}", headers=wcloud.admin())
    assert page.status == 200
    from sync.cloud.card_links import link_signature

    key = await wcloud.store.card_link_key(card["card_code"])
    sig = link_signature(key, card["card_code"])
    ok = await wcloud.http.get(f"/card/{card['card_code']}/{sig}/pass.pkpass")
    assert ok.status == 200 and ok.content_type == "application/vnd.apple.pkpass"
    assert pass_json(await ok.read())["serialNumber"] == card["card_code"]
    bad = await wcloud.http.get(f"/card/{card['card_code']}/{'0' * 24}/pass.pkpass")
    assert bad.status == 404
    assert (await bad.json())["error"]["code"] == "unknown_card"
    anon = await wcloud.http.get(f"/v1/cards/{card['card_code']}/pass.pkpass")
    assert anon.status == 401


async def test_given_no_wallet_section_then_there_is_no_pass_route(cloud: Any) -> None:
    card = await cloud.customer(email="x@example.com")
    resp = await cloud.http.get(f"/v1/cards/{card['card_code']}/pass.pkpass", headers=cloud.admin())
    assert resp.status == 404


async def _start(app: web.Application) -> None:
    runner = web.AppRunner(app)
    try:
        await runner.setup()  # the app's start-up: where the wallet's files are read
    finally:
        await runner.cleanup()


def _settings(pki: Pki, data: Path, **apple: Any) -> Any:
    # the app opens its own store here: in the test's folder, never the working directory
    return load_cloud_settings(
        None,
        {
            "cloud": {"database": f"sqlite:///{data / 'cloud.db'}"},
            "wallet": {"apple": apple_section(pki, **apple)},
        },
    )


@pytest.mark.parametrize(
    ("change", "starts"),
    [
        (
            {"cert": "/nonexistent/pass.pem"},
            "wallet.apple.cert: /nonexistent/pass.pem: no such file",
        ),
        (
            {"wwdr": "/nonexistent/wwdr.pem"},
            "wallet.apple.wwdr: /nonexistent/wwdr.pem: no such file",
        ),
        ({"key": "OTHER"}, "wallet.apple.key: "),
        ({"cert": "EXPIRED"}, "wallet.apple.cert: "),
        ({"key": "CERT"}, "wallet.apple.key: "),
    ],
)
def test_given_bad_key_material_then_start_up_stops_with_one_line_naming_the_key(
    pki: Pki, change: dict[str, str], starts: str, tmp_path: Path
) -> None:
    paths = {"OTHER": pki.other_key, "EXPIRED": pki.expired, "CERT": pki.cert}
    apple = {k: str(paths.get(v, v)) for k, v in change.items()}
    with pytest.raises(WalletConfigError) as err:
        asyncio.run(_start(build_cloud_app(_settings(pki, tmp_path, **apple))))
    line = str(err.value)
    assert line.startswith(starts) and "\n" not in line
    if change.get("key") == "OTHER":
        assert "does not match the certificate" in line
    if change.get("cert") == "EXPIRED":
        assert "the certificate expired on" in line


def test_given_a_missing_key_file_the_cloud_command_prints_one_line_and_exits_2(
    pki: Pki, tmp_path: Path
) -> None:
    toml = tmp_path / "cloud.toml"
    toml.write_text(
        f'[cloud]\ndatabase = "sqlite:///{tmp_path / "c.db"}"\nlisten = "127.0.0.1:0"\n'
        '[wallet.apple]\npass_type_id = "pass.test.stamps"\nteam_id = "T"\n'
        f'organization_name = "Cafe"\ncert = "{pki.cert}"\nkey = "{tmp_path / "missing.key"}"\n'
        f'wwdr = "{pki.wwdr}"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", "cloud", "--config", str(toml)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"stampedge: wallet.apple.key: {tmp_path / 'missing.key'}: no such file"]
