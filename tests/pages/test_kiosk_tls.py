"""The agent over HTTPS with its own certificate (``agent.tls_cert``/``tls_key``), as a phone on
the LAN reaches it: a name that is not localhost, so the camera works only because the origin is
secure. The agent runs as the real ``stampedge agent`` process; Chromium trusts the self-signed
certificate with ``--ignore-certificate-errors`` and resolves ``kiosk.test`` to 127.0.0.1."""

import asyncio
import datetime as dt
import ipaddress
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.async_api import expect

from sync.contract.card_code import new_card_code
from tests.agent.conftest import SECRET
from tests.conftest import REPO, free_port
from tests.pages.camera import TABLET, camera_browser, write_y4m

HOST = "kiosk.test"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A one-day certificate for ``kiosk.test`` and 127.0.0.1, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "agent-cert.pem", folder / "agent-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _config(folder: Path, port: int, cert: Path, key: Path) -> Path:
    config = folder / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{folder / "data"}"\n'
        f'tls_cert = "{cert}"\ntls_key = "{key}"\n'
        f'[cloud]\nurl = ""\ndevice_secret = "{SECRET}"\n'
    )
    return config


@pytest.fixture
async def https_agent(tmp_path: Path) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """``stampedge agent`` serving HTTPS on a free port; its base URL and a context trusting it."""
    cert, key = self_signed(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "agent",
            "--config",
            str(_config(tmp_path, port, cert, key)),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                try:
                    async with http.get(url + "/health", ssl=trust) as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        yield url, trust
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_given_tls_configured_then_a_lan_name_gets_the_camera_and_a_secure_cookie(
    https_agent: tuple[str, ssl.SSLContext], tmp_path: Path, artifacts_dir: Path
) -> None:
    url, trust = https_agent
    port = url.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as owner:
        resp = await owner.post(f"{url}/pairing/code", data={"role": "kiosk"}, ssl=trust)
        page_html = await resp.text()  # the status page after the redirect
    code = page_html.split('id="pairing-code">')[1][:7].replace(" ", "")
    assert f"https://127.0.0.1:{port}/pair" in page_html

    card = new_card_code()
    video = write_y4m(tmp_path / "card.y4m", [card] * 10)
    rules = f"--host-resolver-rules=MAP {HOST} 127.0.0.1"
    async with camera_browser(video, "--ignore-certificate-errors", rules) as browser:
        context = await browser.new_context(**TABLET)
        page: Any = await context.new_page()
        await page.goto(f"https://{HOST}:{port}/pair?code={code}")
        assert await page.evaluate("window.isSecureContext") is True
        await page.get_by_role("button", name="Pair").click()
        await page.wait_for_url("**/kiosk")
        cookies = await context.cookies()
        assert [c["secure"] for c in cookies if c["name"] == "stampedge_device"] == [True]
        await expect(page.locator("#result")).to_contain_text("1 stamp added", timeout=20_000)
        await page.screenshot(path=str(artifacts_dir / "kiosk-over-https.png"))
        await context.close()


def test_given_a_certificate_that_cannot_be_loaded_then_the_agent_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    config = _config(tmp_path, free_port(), bad, bad)
    out = subprocess.run(
        [sys.executable, "-m", "agent.cli", "agent", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert "agent.tls_cert" in lines[0]
