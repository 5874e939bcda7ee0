"""Wallet passes: what building and signing a ``.pkpass`` costs, and how long a stamp takes to
become a push when 10,000 registered passes were just queued by a program change.

Run by hand: ``python bench/wallet.py [--passes 10000] [--sign 300]``.

1. Build + sign: ``pass.json``, the images (cached after the first of each balance) and the
   zip with its manifest and PKCS#7 signature, as ``GET …/pass.pkpass`` makes it; the signature
   alone; and, in the same run over the same manifest, ``openssl smime -sign -binary`` with the
   same certificate, key and intermediate (one process per signature, so its figure includes
   starting a process: ``openssl version`` alone is shown for that).
2. Pushes: a cloud app on a real port over a SQLite file, ``--passes`` cards each with a pass
   and one registered device, APNs a local HTTP/2 stand-in over TLS (hypercorn in a thread,
   client certificate checked). ``PUT /v1/branches/{id}/program`` (a new goal) queues every
   pass; a stamp sent right after it waits behind them; then single stamps on a quiet queue.
   Times are from the stamp's answer to the push arriving at the stand-in (``push_delay_ms``,
   250 by default, is in them: changes within it make one push). Prints a Markdown table.
"""

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from bench._common import free_port, pct, table
from config import load_cloud_settings
from config.cloud import AppleWalletSection
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Principal, open_store
from sync.cloud.wallet.credentials import load_apple
from sync.cloud.wallet.images import pass_images
from sync.cloud.wallet.pass_json import PassContent, PassIdentity, build_pass_json
from sync.cloud.wallet.pkpass import build_pkpass, manifest, sign
from sync.cloud.wallet.service import auth_token, token_hash
from tests.sync.cloud.apns_standin import ApnsStandIn
from tests.sync.cloud.wallet_pki import apple_section, make_pki


def _ms(values: list[float]) -> str:
    return f"{pct(values, 50) * 1000:.2f} / {pct(values, 99) * 1000:.2f}"


def bench_sign(folder: Path, n: int) -> list[list[Any]]:
    """Build + sign, sign alone, and openssl's smime -sign of the same manifest."""
    pki = make_pki(folder / "pki")
    section = AppleWalletSection(**apple_section(pki))  # type: ignore[arg-type]
    creds = load_apple(section, datetime.now(UTC))
    identity = PassIdentity(
        pass_type_id=section.pass_type_id, team_id=section.team_id,
        organization_name=section.organization_name,
        web_service_url="https://cloud.example/wallet/apple",
        background_color=section.background_color, foreground_color=section.foreground_color,
        label_color=section.label_color,
    )  # fmt: skip
    contents = [
        PassContent(serial=f"SC{i:08d}", card_code=f"SC{i:08d}", number=f"{i % 999999:06d}",
                    business="Corner Cafe", balance=i % 10, goal=10, reward_name="Free coffee")
        for i in range(n)
    ]  # fmt: skip
    for c in contents[:10]:  # the images of every balance, drawn once (cached from then on)
        pass_images(c.balance, c.goal, section.background_color, section.foreground_color)
    built: list[float] = []
    for c in contents:
        t = time.perf_counter()
        doc = build_pass_json(c, identity, "0" * 32)
        images = pass_images(c.balance, c.goal, section.background_color, section.foreground_color)
        build_pkpass(doc, images, creds)
        built.append(time.perf_counter() - t)
    files = {"pass.json": b"{}", **pass_images(3, 10, section.background_color,
                                                section.foreground_color)}  # fmt: skip
    man = manifest(files)
    signed: list[float] = []
    for _ in range(n):
        t = time.perf_counter()
        sign(man, creds)
        signed.append(time.perf_counter() - t)
    (folder / "manifest.json").write_bytes(man)
    runs = max(20, n // 6)
    ossl: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            ["openssl", "smime", "-sign", "-binary", "-in", str(folder / "manifest.json"),
             "-signer", str(pki.cert), "-inkey", str(pki.key), "-certfile", str(pki.wwdr),
             "-outform", "DER", "-out", str(folder / "signature")],
            check=True,
        )  # fmt: skip
        ossl.append(time.perf_counter() - t)
    start: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(["openssl", "version"], check=True, stdout=subprocess.DEVNULL)
        start.append(time.perf_counter() - t)
    return [
        [f"build + sign a .pkpass ({n}, images cached)", "ms p50 / p99", _ms(built)],
        [f"PKCS#7 signature alone ({n})", "ms p50 / p99", _ms(signed)],
        [f"`openssl smime -sign -binary`, same manifest ({runs} processes)", "ms p50 / p99",
         _ms(ossl)],
        [f"`openssl version` (starting the process only, {runs})", "ms p50 / p99", _ms(start)],
    ]  # fmt: skip


async def _fill(store: Any, link: dict[str, Any], passes: int) -> list[tuple[str, str]]:
    """``passes`` cards, each with a pass and one registered device: (card code, push token)."""
    who = Principal(kind="admin", business_id=link["business_id"], branch_id=None, device_id=None)
    now = datetime.now(UTC)
    codes = [(await store.create_customer(who, None, None, now)).card_code for _ in range(passes)]
    key = await store.card_link_key(codes[0])
    rows, regs = [], []
    now_us = time.time_ns() // 1000
    async with store.db.read() as tx:
        ids = {
            str(r["card_code"]): int(r["id"])
            for r in await tx.fetch(
                "SELECT id, card_code FROM customers WHERE business_id = ?", link["business_id"]
            )
        }
    out = []
    for code in codes:
        nonce = secrets.token_hex(16)
        rows.append(
            (
                code,
                link["business_id"],
                ids[code],
                nonce,
                token_hash(auth_token(key, code, nonce)),
                "",
                now_us,
                0,
                now_us,
            )
        )
        push_token = secrets.token_hex(32)
        regs.append((uuid.uuid4().hex, "pass.test.stamps", code, push_token, now_us))
        out.append((code, push_token))
    async with store.db.write(link["business_id"]) as tx:
        await tx.executemany(
            "INSERT INTO wallet_passes (serial, business_id, customer_id, nonce, token_hash, "
            "content_hash, updated_us, google, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await tx.executemany(
            "INSERT INTO wallet_registrations (device_id, pass_type_id, serial, push_token, "
            "created_us) VALUES (?, ?, ?, ?, ?)",
            regs,
        )
        count = await tx.fetchval(
            "SELECT card_seq FROM counters WHERE business_id = ?", link["business_id"]
        )
        await tx.execute(
            "INSERT INTO wallet_cursors (business_id, card_seq) VALUES (?, ?)",
            link["business_id"],
            int(count),
        )
    return out  # fmt: skip


async def _first_push_after(apns: ApnsStandIn, token: str, after: float, limit_s: float) -> float:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for p in apns.to(token):
            if p.at >= after:
                return p.at - after
        await asyncio.sleep(0.002)
    raise RuntimeError(f"no push to {token[:8]}… within {limit_s} s")


async def bench_push(folder: Path, passes: int, quiet: int) -> list[list[Any]]:
    """A program change queues every pass; a stamp right after; then stamps on a quiet queue."""
    pki = make_pki(folder / "pki2")
    apns = ApnsStandIn(pki)
    apns.start()
    store = await open_store(f"sqlite:///{folder / 'cloud.db'}")
    link = await init_business(store, business="Corner Cafe", branch="Main", rule="per_order",
                               goal=10)  # fmt: skip
    t = time.perf_counter()
    cards = await _fill(store, link, passes)
    print(f"filled {passes} passes in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    port = free_port()
    settings = load_cloud_settings(None, {
        "cloud": {"public_url": f"http://127.0.0.1:{port}"},
        "wallet": {"apple": apple_section(pki, apns_url=apns.url, apns_ca=str(pki.root))},
    })  # fmt: skip
    runner = web.AppRunner(build_cloud_app(settings, store=store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {link['admin_key']}"}
    rows: list[list[Any]] = []
    try:
        async with aiohttp.ClientSession() as http:

            async def stamp(code: str) -> float:
                body = {"order_id": uuid.uuid4().hex, "total": "5", "customer": {"card": code}}
                async with http.post(f"{base}/v1/stamps", json=body, headers=admin) as resp:
                    assert resp.status == 201, await resp.text()
                return time.monotonic()

            program = {"rule": "per_order", "goal": 12, "reward_name": "Free coffee"}
            t0 = time.monotonic()
            async with http.put(f"{base}/v1/branches/{link['branch_id']}/program",
                                json=program, headers=admin) as resp:  # fmt: skip
                assert resp.status == 200, await resp.text()
            target_code, target_token = cards[passes // 2]
            stamped = await stamp(target_code)
            behind = await _first_push_after(apns, target_token, stamped, 600)
            while len({p.path for p in apns.pushes}) < passes:
                await asyncio.sleep(0.01)
                if time.monotonic() - t0 > 900:
                    raise RuntimeError("the flood never finished")
            flood = max(p.at for p in apns.pushes) - t0
            rows.append([f"{passes:,} passes pushed after a program change", "s (pushes/s)",
                         f"{flood:.1f} ({passes / flood:,.0f}/s)"])  # fmt: skip
            rows.append(["a stamp sent right after the program change → its push", "s",
                         f"{behind:.1f}"])  # fmt: skip
            await asyncio.sleep(1.0)
            lat: list[float] = []
            for code, token in cards[:quiet]:
                at = await stamp(code)
                lat.append(await _first_push_after(apns, token, at, 60))
            rows.append([f"a stamp → its push, quiet queue ({quiet} stamps, push_delay_ms 250)",
                         "ms p50 / p99", _ms(lat)])  # fmt: skip
    finally:
        await runner.cleanup()
        await store.close()
        apns.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=10_000)
    parser.add_argument("--sign", type=int, default=300)
    parser.add_argument("--quiet", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = bench_sign(folder, args.sign)
        rows += asyncio.run(bench_push(folder, args.passes, args.quiet))
    print(table(["what", "unit", "figure"], rows))


if __name__ == "__main__":
    main()
