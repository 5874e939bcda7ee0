"""The agent's status page (``GET /``): a plain HTML view of its health for the shop."""

from html import escape
from typing import Any

from agent.models import HealthAnswer


def render_status_page(health: HealthAnswer, recent: list[dict[str, Any]]) -> str:
    """The page as HTML; every value is escaped."""
    rows = "".join(
        f"<tr><td>{escape(str(o['order_id']))}</td><td>{escape(str(o['till'] or ''))}</td>"
        f"<td>{o['stamps']}</td><td>{escape(str(o['kind']))}</td>"
        f"<td>{'voided' if o['voided'] else ''}</td></tr>"
        for o in recent
    )
    scanners = (
        "".join(
            f"<li>{escape(s.name)} ({escape(s.kind)}, {escape(s.till)}): {escape(s.state)}</li>"
            for s in health.scanners
        )
        or "<li>none configured</li>"
    )
    ob = health.outbox
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stampedge agent</title></head><body>
<h1>Stampedge agent: {escape(health.status)}</h1>
<h2>Outbox</h2><p>{ob.pending} pending, {ob.dead} dead, {ob.acked} acked;
oldest pending {ob.oldest_pending_age_s or 0:.0f} s</p>
<h2>Cloud</h2><p>reachable: {health.cloud.reachable}; last sync: {health.cloud.last_sync_at}</p>
<h2>Printer</h2><p>{escape(health.printer.state)} {escape(health.printer.detail)}</p>
<h2>Scanners</h2><ul>{scanners}</ul>
<h2>Recent orders</h2><table><tr><th>Order</th><th>Till</th><th>Stamps</th><th>Kind</th>
<th></th></tr>{rows}</table></body></html>"""
