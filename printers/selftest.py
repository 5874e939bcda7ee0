"""The self-test receipt (agent address, printer model, QR mode) and a one-shot direct print.

The direct print is for ``stampedge printer test`` when no agent is running: the same bytes and
the same ``DLE EOT`` checks as a job, without the job table.
"""

import asyncio
import io
import socket
from datetime import datetime
from decimal import Decimal
from typing import Any

from config import AgentSettings
from config.agent import PrinterSettings
from printers.connections import Connection, FileConnection
from printers.errors import PrinterUnavailable
from printers.profile import Capabilities
from printers.receipt import Receipt, build_job, render_image
from printers.status import PROBLEM_STATES
from sync.contract.languages import Language
from sync.web.language import language_name
from sync.web.texts import t


def agent_address(settings: AgentSettings) -> str:
    """The agent's ``host:port`` as a person at the till would type it (the host name if
    wildcard)."""
    host, port = settings.agent.host, settings.agent.port
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only shown, never bound here
        host = socket.gethostname()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def agent_url(settings: AgentSettings) -> str:
    """The agent's address as a URL."""
    return f"http://{agent_address(settings)}/"


def self_test_receipt(
    settings: AgentSettings,
    caps: Capabilities,
    conn: Connection | None,
    now: datetime,
    lang: Language,
) -> Receipt:
    """What ``stampedge printer test`` and the status page's button print, in ``lang``."""
    url = agent_url(settings)
    p = settings.printer
    printer = f"{p.kind} {conn.describe() if conn else ''}".rstrip()
    return Receipt(
        order_id="self-test",
        title=t("selftest.title", lang),
        claim_url=url.upper(),  # QR alphanumeric mode; host names ignore case
        code_text=agent_address(settings),  # not a claim token: no short code of one
        stamps=0,
        total=Decimal(0),
        currency=settings.program.currency,
        issued_at=now,
        language=lang,
        lines=[
            t("selftest.agent", lang, url=url),
            t("selftest.printer", lang, printer=printer),
            t("selftest.model", lang, model=caps.model),
            t("selftest.qr", lang, mode=caps.qr_mode, setting=p.qr),
            t("selftest.code_page", lang, page=caps.page_for(lang).name),
            t("selftest.language", lang, language=language_name(lang)),
        ],
    )


def _png(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> bytes:
    buf = io.BytesIO()
    render_image(receipt, settings, caps).save(buf, format="PNG")
    return buf.getvalue()


async def print_direct(
    settings: AgentSettings, caps: Capabilities, conn: Connection, receipt: Receipt
) -> dict[str, Any]:
    """Print ``receipt`` now on ``conn``: ``{"status", "reason", "detail", "bytes"}``."""
    from printers.service import query_status  # the service imports this module's callers

    p = settings.printer
    data = await asyncio.to_thread(build_job, receipt, p, caps)  # QR and raster: CPU, PIL
    result: dict[str, Any] = {"status": "failed", "reason": None, "detail": None}
    result["bytes"] = len(data)
    try:
        await conn.open("self-test")
        try:
            asks = conn.answers_status and caps.qr_mode != "star"
            if asks:
                before = await query_status(conn, p.status_timeout_s)
                if before.state in PROBLEM_STATES or (
                    before.state == "unknown" and p.require_status
                ):
                    reason = "no_answer" if before.state == "unknown" else before.state
                    return {**result, "reason": reason, "detail": before.detail}
            await conn.write(data)
            if isinstance(conn, FileConnection):
                png = await asyncio.to_thread(_png, receipt, p, caps)
                where = await conn.save_preview(png)
                return {**result, "status": "confirmed", "detail": f"written beside {where}"}
            if not asks:
                return {**result, "status": "sent", "reason": "no_status"}
            after = await query_status(conn, p.status_timeout_s + conn.transfer_s(len(data)))
        finally:
            await conn.close()
    except PrinterUnavailable as err:
        return {**result, "reason": err.reason, "detail": str(err)}
    if after.state in PROBLEM_STATES:
        return {**result, "reason": after.state, "detail": after.detail}
    if after.state == "unknown":
        return {**result, "status": "sent", "reason": "no_answer", "detail": after.detail}
    return {**result, "status": "confirmed", "detail": after.detail}
