"""``stampedge printer test|status --config agent.toml``: the receipt printer from the shell.

``test`` asks the running agent to print its self-test receipt (so the printer keeps one owner
and the job shows on the status page); when no agent answers it prints directly.
"""

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from config import AgentSettings, load_agent_settings
from printers.connections import make_connection
from printers.errors import PrinterConfigError
from printers.profile import capabilities
from printers.selftest import print_direct, self_test_receipt
from printers.service import query_status
from sync.contract.languages import DEFAULT_LANGUAGE

FINAL = ("confirmed", "failed", "stale", "sent")


async def _via_agent(settings: AgentSettings, wait_s: float) -> dict[str, Any] | None:
    """Ask the running agent for a test print and wait for the job's end; None if no agent."""
    a = settings.agent
    host = "127.0.0.1" if a.host in ("0.0.0.0", "::") else a.host  # noqa: S104
    base = f"http://{host}:{a.port}"
    token = a.token.get_secret_value()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=wait_s + 5)
    try:
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            async with http.post(f"{base}/v1/print/test") as resp:
                job = await resp.json()
                if resp.status != 202:
                    return {"status": "failed", "via": "agent", **job.get("error", {})}
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait_s
            while job.get("status") not in FINAL and loop.time() < deadline:
                await asyncio.sleep(0.1)
                async with http.get(f"{base}/v1/print/{job['job_id']}") as resp:
                    job = await resp.json()
            return {"via": "agent", **job}
    except aiohttp.ClientConnectionError:
        return None


async def run_test(settings: AgentSettings, *, direct: bool, wait_s: float = 15.0) -> int:
    """Print the self-test receipt; 0 if the printer confirmed it (or took it, for a file)."""
    if not direct:
        result = await _via_agent(settings, wait_s)
        if result is not None:
            print(json.dumps(result, indent=2, default=str))
            return 0 if result.get("status") == "confirmed" else 1
    try:
        conn = make_connection(settings.printer)
        caps = capabilities(settings.printer)
    except PrinterConfigError as err:
        print(f"stampedge: {err}", file=sys.stderr)
        return 2
    if conn is None:
        print('stampedge: no printer configured ([printer] kind = "none")', file=sys.stderr)
        return 2
    # with no agent running, only the config is read: its language, else English
    lang = settings.agent.language or DEFAULT_LANGUAGE
    receipt = self_test_receipt(settings, caps, conn, datetime.now(UTC), lang)
    result = await print_direct(settings, caps, conn, receipt)
    print(json.dumps({"via": "direct", **result}, indent=2, default=str))
    return 0 if result["status"] == "confirmed" else 1


async def run_status(settings: AgentSettings) -> int:
    """Ask the printer ``DLE EOT`` 1, 2, 4 and show the answer (needs the agent stopped)."""
    conn = make_connection(settings.printer)
    if conn is None or not conn.answers_status:
        print(json.dumps({"state": "disabled" if conn is None else "ok"}))
        return 0
    from printers.errors import PrinterUnavailable

    try:
        await conn.open("status")
        try:
            state = await query_status(conn, settings.printer.status_timeout_s)
        finally:
            await conn.close()
    except PrinterUnavailable as err:
        print(json.dumps({"state": "offline", "reason": err.reason, "detail": str(err)}))
        return 1
    print(json.dumps(state.model_dump(mode="json")))
    return 0 if state.state == "ok" else 1


def _cmd(args: argparse.Namespace) -> int:
    settings = load_agent_settings(args.config)
    if args.action == "status":
        return asyncio.run(run_status(settings))
    return asyncio.run(run_test(settings, direct=args.direct))


def register(sub: Any) -> None:
    """Add ``stampedge printer ...`` to the ``stampedge`` command."""
    p = sub.add_parser("printer", help="the receipt printer: self-test print, status")
    p.add_argument("action", choices=["test", "status"], help="what to do")
    p.add_argument("--config", type=Path, help="agent.toml")
    p.add_argument("--direct", action="store_true", help="print without asking the running agent")
    p.set_defaults(func=_cmd)
