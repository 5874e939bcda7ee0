"""Wallet buttons in Chromium on a phone viewport: after claiming a receipt, "Add to Apple
Wallet" downloads a pass that verifies against the test CA, and "Save to Google Wallet" points
at Google's save page; the card page offers both; without a ``[wallet.*]`` section, neither."""

import io
import json
import subprocess
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from sync.cloud.ui.card_page import CardView, render_card
from sync.contract import claim_token
from tests.conftest import PHONE, free_port
from tests.pages.a11y import check_accessibility
from tests.sync.cloud.wallet_pki import Pki, apple_section, make_pki


@pytest.fixture
async def wallet_cloud(
    tmp_path: Path,
) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, Any], Pki]]:
    pki = make_pki(tmp_path / "pki")
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    link = await init_business(
        store, business="Corner Cafe", branch="Main Street", rule="by_amount",
        step=Decimal("10"), goal=10,
    )  # fmt: skip
    port = free_port()
    settings = load_cloud_settings(
        None,
        {
            "cloud": {"public_url": f"http://127.0.0.1:{port}"},
            "wallet": {
                "apple": apple_section(pki, apns_url="https://127.0.0.1:9"),
                "google": {
                    "issuer_id": "3388000000099",
                    "service_account": str(pki.service_account),
                },
            },
        },
    )
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_cloud_app(settings, store=store), host="127.0.0.1", port=port)
    )
    await client.start_server()
    try:
        yield client, link, pki
    finally:
        await client.close()
        await store.close()


@pytest.mark.browser
async def test_after_claiming_on_a_phone_add_to_apple_wallet_downloads_a_valid_pass(
    wallet_cloud: Any, browser: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    http, link, pki = wallet_cloud
    token, _ = claim_token.mint(
        secret=link["device_secret"], device_id=link["device_id"], order_id="W-1", stamps=3,
        now=datetime.now(UTC), ttl_hours=24,
    )  # fmt: skip
    phone = await browser.new_context(**PHONE, accept_downloads=True)
    page = await phone.new_page()
    await page.goto(str(http.make_url(f"/C/{token}")))
    await page.get_by_role("button", name="Collect my stamps").click()
    await page.wait_for_selector("#wallet")
    await check_accessibility(page)
    await page.screenshot(path=str(artifacts_dir / "wallet-1-claimed.png"), full_page=True)
    google = await page.get_by_role("link", name="Save to Google Wallet").get_attribute("href")
    assert google is not None and google.endswith("/google")

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Add to Apple Wallet").click()
    download = await info.value
    saved = tmp_path / "card.pkpass"
    await download.save_as(str(saved))
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as z:
        doc = json.loads(z.read("pass.json"))
        (tmp_path / "manifest.json").write_bytes(z.read("manifest.json"))
        (tmp_path / "signature").write_bytes(z.read("signature"))
    assert doc["storeCard"]["headerFields"][0]["value"] == "3 of 10"
    done = subprocess.run(
        ["openssl", "smime", "-verify", "-binary", "-inform", "DER",
         "-in", str(tmp_path / "signature"), "-content", str(tmp_path / "manifest.json"),
         "-CAfile", str(pki.root), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()

    resp = await page.goto(str(http.make_url("/card")))
    assert resp.status == 200
    assert await page.get_by_role("link", name="Add to Apple Wallet").count() == 1
    assert await page.get_by_role("link", name="Save to Google Wallet").count() == 1
    await page.screenshot(path=str(artifacts_dir / "wallet-2-card.png"), full_page=True)
    await phone.close()


def test_without_a_wallet_configured_the_card_page_has_no_wallet_buttons() -> None:
    view = CardView(card_code="SC123", number="123456", balance=1, goal=10)
    html = render_card(view)
    assert 'id="wallet"' not in html and "Apple Wallet" not in html
    shown = render_card(view.model_copy(update={"apple_wallet_url": "/card/SC123/x/pass.pkpass"}))
    assert "Add to Apple Wallet" in shown and "Google Wallet" not in shown
