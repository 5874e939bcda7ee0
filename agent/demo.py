"""``stampedge demo``: the whole system on one machine on embedded SQLite under ``./var/``.

On first start it provisions a business, a branch and a device in the cloud store and writes the
agent's config; on later starts it reuses them. The printer is a file printer (``.bin`` plus a PNG
preview per receipt) so nothing needs hardware.
"""

import asyncio
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.http.app import build_app
from config import load_agent_settings, load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store, open_store
from sync.cloud.wallet.demo_certs import PASS_TYPE_ID, demo_certificates
from sync.web.logs import setup_logging
from sync.web.serve import serve, wait_for_stop

log = logging.getLogger(__name__)


def _agent_toml(var: Path, agent_port: int, cloud_port: int, link: dict[str, Any]) -> str:
    return f"""# Written by `stampedge demo`.
[agent]
listen = "127.0.0.1:{agent_port}"
data_dir = "{var / "agent"}"
mode = "receipt_qr"

[cloud]
url = "http://127.0.0.1:{cloud_port}"
device_key = "{link["device_key"]}"
device_secret = "{link["device_secret"]}"
claim_base_url = "HTTP://127.0.0.1:{cloud_port}/C/"

[program]
rule = "by_amount"
step = "10.00"
goal = 10
currency = "EUR"

[printer]
kind = "file"
path = "{var / "receipts"}"
"""


async def _start_cloud(var: Path, cloud_port: int) -> tuple[dict[str, Any], web.AppRunner, Store]:
    """Start the cloud store on SQLite; provision a business on first start. Apple Wallet
    passes are signed with throw-away certificates (``var/wallet``) so they can be inspected;
    an iPhone installs only passes signed with a real Apple certificate."""
    certs = await asyncio.to_thread(demo_certificates, var / "wallet")
    cloud_settings = load_cloud_settings(
        None,
        {
            "cloud": {
                "listen": f"127.0.0.1:{cloud_port}",
                "database": f"sqlite:///{var / 'cloud.db'}",
                "public_url": f"http://127.0.0.1:{cloud_port}",
            },
            "wallet": {
                "apple": {
                    "pass_type_id": PASS_TYPE_ID,
                    "team_id": "DEMO000000",
                    "organization_name": "Demo Cafe",
                    "cert": str(certs.cert),
                    "key": str(certs.key),
                    "wwdr": str(certs.wwdr),
                }
            },
        },
    )
    provision_file = var / "demo-provision.json"
    store = await open_store(cloud_settings.cloud.database)
    if provision_file.exists():
        link = json.loads(provision_file.read_text())
    else:
        link = await init_business(
            store,
            business="Demo Cafe",
            branch="Main Street",
            rule="by_amount",
            step=Decimal("10"),
            goal=10,
        )
        provision_file.write_text(json.dumps(link, default=str, indent=2))
        provision_file.chmod(0o600)
    runner = await serve(
        build_cloud_app(cloud_settings, store=store), "127.0.0.1", cloud_port, what="cloud"
    )
    return link, runner, store


async def _demo(var: Path, agent_port: int, cloud_port: int) -> None:
    link, cloud_runner, store = await _start_cloud(var, cloud_port)
    agent_toml = var / "agent.toml"
    agent_toml.write_text(_agent_toml(var, agent_port, cloud_port, link))
    agent_toml.chmod(0o600)
    settings = load_agent_settings(agent_toml)
    runner = await serve(build_app(settings), "127.0.0.1", agent_port, what="agent")
    lines = [
        "Stampedge demo is running (Ctrl-C to stop).",
        f"  agent API:    http://127.0.0.1:{agent_port}/v1/orders",
        f"  status page:  http://127.0.0.1:{agent_port}/",
    ]
    lines += [
        f"  cloud store:  http://127.0.0.1:{cloud_port}/health",
        f"  dashboard:    http://127.0.0.1:{cloud_port}/dashboard "
        f"(admin key in {var / 'demo-provision.json'})",
        f"  receipts:     {var / 'receipts'} (.bin as sent to a printer, .png to look at)",
        "  wallet:       the card page's 'Add to Apple Wallet' gives a .pkpass signed by a",
        f"                throw-away test CA ({var / 'wallet'}): open it as a zip; an iPhone",
        "                installs only passes signed with a real Apple certificate",
        f"  agent config: {agent_toml}",
        "Try:",
        f"  curl -s -X POST http://127.0.0.1:{agent_port}/v1/orders "
        '-H \'Content-Type: application/json\' -d \'{"order_id": "A-1", "total": "23.50"}\'',
    ]
    print("\n".join(lines), flush=True)
    try:
        await wait_for_stop()
    finally:
        await runner.cleanup()
        await cloud_runner.cleanup()
        await store.close()


def run_demo(var: Path, *, agent_port: int = 8787, cloud_port: int = 8788) -> int:
    """Run the demo until Ctrl-C."""
    setup_logging()
    var.mkdir(parents=True, exist_ok=True)
    asyncio.run(_demo(var.resolve(), agent_port, cloud_port))
    return 0
