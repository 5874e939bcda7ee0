"""The README's first command: ``stampedge demo`` brings up cloud + agent on SQLite and works."""

import asyncio
import html
import io
import os
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp

from tests.conftest import REPO, free_port


async def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(400):
            assert proc.poll() is None, "the demo exited"
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_the_demo_records_an_order_prints_its_qr_and_the_cloud_takes_the_claim(
    tmp_path: Path,
) -> None:
    agent_port, cloud_port = free_port(), free_port()
    var = tmp_path / "var"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "demo",
            "--dir",
            str(var),
            "--agent-port",
            str(agent_port),
            "--cloud-port",
            str(cloud_port),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    agent = f"http://127.0.0.1:{agent_port}"
    cloud = f"http://127.0.0.1:{cloud_port}"
    try:
        await _wait(agent + "/health", proc)
        await _wait(cloud + "/health", proc)
        # a phone's browser keeps the cloud's cookies, even on an IP address like this one
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            body = {"order_id": "DEMO-1", "total": "23.50"}
            async with session.post(agent + "/v1/orders", json=body) as resp:
                assert resp.status == 201
                order = await resp.json()
            assert order["stamps"] == 2 and order["claim"]["url"].startswith(cloud.upper())
            assert order["print"] is not None
            for _ in range(200):  # the file printer writes the receipt and its preview
                if list((var / "receipts").glob("*.png")):
                    break
                await asyncio.sleep(0.05)
            assert list((var / "receipts").glob("*.bin"))
            assert list((var / "receipts").glob("*.png"))
            async with session.get(order["claim"]["url"]) as resp:  # the phone opens the QR
                assert resp.status == 200
                assert "Collect my stamps" in await resp.text()
            async with session.post(order["claim"]["url"]) as resp:  # and taps the button
                assert resp.status == 200  # after POST-redirect-GET
                page = await resp.text()
                assert "2 stamps added" in page
            # the demo's throw-away certificates sign a pass a newcomer can open and inspect
            found = re.search(r'id="add-apple-wallet" href="([^"]+)"', page)
            assert found is not None, page
            async with session.get(html.unescape(found.group(1))) as resp:
                assert resp.status == 200
                assert resp.content_type == "application/vnd.apple.pkpass"
                with zipfile.ZipFile(io.BytesIO(await resp.read())) as z:
                    assert {"pass.json", "manifest.json", "signature"} <= set(z.namelist())
            assert (var / "wallet" / "demo-root-ca.pem").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    text = out.decode()
    assert agent in text and cloud in text and "status page" in text
