"""The agent's status page (``GET /``): what a shop owner or installer needs at one glance.

Printer state and last jobs (with retry and a test print), each scanner, the outbox backlog and
the age of its oldest event, the last sync and any dead letters, and the latest checks. Plain
server-rendered HTML with a little inline script for the buttons; nothing is fetched from
outside the box. Every value is escaped.
"""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agent.http.models import HealthAnswer
from sync.web.local_time import local_text
from sync.web.page_table import TABLE_CSS, scroll_table

_CSS = (
    """
:root{--ok:#11643a;--bad:#a3141b;--warn:#7a4b00;--mute:#555;--line:#ddd}
#database code{overflow-wrap:anywhere}
*{box-sizing:border-box}body{font:16px/1.45 system-ui,sans-serif;margin:0;color:#111;
background:#fafafa}main{max-width:960px;margin:auto;padding:12px}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:0 0 .5rem}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px;
margin-bottom:12px}.grid{display:grid;gap:12px;grid-template-columns:repeat(auto-fit,
minmax(260px,1fr))}.state{font-weight:700}.ok{color:var(--ok)}.bad{color:var(--bad)}
.warn{color:var(--warn)}.mute{color:var(--mute)}
button{font:inherit;padding:6px 12px;border-radius:6px;border:1px solid #333;background:#fff;
cursor:pointer;min-height:40px}button:focus{outline:3px solid #1a5fb4}
#updated{margin:0 0 8px}#updated form{display:inline}#note{min-height:1.5em}
form.inline{display:inline-block;margin:0 6px 6px 0}
.code{font-size:1.6rem;letter-spacing:.1em;white-space:nowrap}.qr svg{width:168px;height:168px}
"""
    + TABLE_CSS
)

_GOOD = {"ok", "listening", "idle", "ready", "printing", "confirmed", "sent", "disabled"}
_BAD = {"error", "failed", "paper_out", "cover_open", "offline", "dead", "stale"}

_SCRIPT = (
    f"const GOOD = {json.dumps(sorted(_GOOD))}, BAD = {json.dumps(sorted(_BAD))};\n"
    + """
async function act(url, label) {
  const note = document.getElementById('note');
  note.textContent = label + '...';
  try {
    const r = await fetch(url, {method: 'POST', credentials: 'same-origin',
                                headers: {'Content-Type': 'application/json'}});
    const body = await r.json().catch(() => ({}));
    note.textContent = r.ok ? label + ': done' :
      label + ': ' + ((body.error && body.error.message) || ('HTTP ' + r.status));
    if (r.ok) setTimeout(() => location.reload(), 800);
  } catch (e) { note.textContent = label + ': ' + e; }
}
document.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-act]');
  if (b) act(b.dataset.act, b.dataset.label);
});
// The headline figures follow /health in place (no reload under the reader's eyes).
async function follow() {
  try {
    const r = await fetch('/health', {credentials: 'same-origin'});
    if (!r.ok) return;
    const h = await r.json();
    const put = (id, text, state) => {
      const el = document.getElementById(id);
      if (!el) return;
      el.textContent = text;
      if (state) el.className = 'state ' + (GOOD.includes(text) ? 'ok' :
                                            BAD.includes(text) ? 'bad' : 'warn');
    };
    put('agent-state', h.status, true);
    put('printer-state', h.printer.state, true);
    put('pending', h.outbox.pending + h.outbox.sent);
    put('dead', h.outbox.dead);
  } catch (e) { /* the next round tries again */ }
}
setInterval(follow, 15000);
"""
)
# The page's Content-Security-Policy allows this one script by its hash (no inline handlers).
STATUS_SCRIPT_HASH = (
    "sha256-" + base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
)


@dataclass
class StatusView:
    """Everything the page shows, gathered by the handler."""

    health: HealthAnswer
    recent_orders: list[dict[str, Any]]
    print_jobs: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    can_print: bool = False
    pairing: str = ""  # the "Phones and tablets" section, already rendered (agent.pages)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # the branch's, for people
    now: datetime | None = None  # when the page was made (shown as "updated at")


_KINDS = {
    "receipt_qr.issued": "receipt QR",
    "order.stamped": "card stamped",
    "order.recorded": "no stamps",
    "order.attached": "card (Autopilot)",
}


def _cls(state: str | None) -> str:
    s = (state or "").lower()
    return "ok" if s in _GOOD else "bad" if s in _BAD else "warn"


def _state(state: str | None, id_: str = "") -> str:
    ident = f' id="{id_}"' if id_ else ""
    return f'<span class="state {_cls(state)}"{ident}>{escape(state or "unknown")}</span>'


def _when(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return '<span class="mute">never</span>'
    if isinstance(value, datetime | str):
        try:
            return escape(local_text(value, tz))
        except ValueError:
            pass
    return escape(str(value))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "none waiting"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _printer(view: StatusView) -> str:
    p = view.health.printer
    rows = [
        [
            escape(str(j.get("job_id", "")))[:12],
            escape(str(j.get("order_id") or "")),
            _state(j.get("status")),
            escape(str(j.get("reason") or "")),
            f'<button type="button" data-label="Retry" '
            f'data-act="/v1/print/{escape(quote(str(j["job_id"]), safe=""))}/retry">Retry</button>'
            if j.get("status") in ("failed", "stale")
            else "",
        ]
        for j in view.print_jobs
    ]
    table = (
        scroll_table(
            "Last print jobs",
            ["Job", "Order", "Status", "Reason", "Action"],
            rows,
            wrap=frozenset({3}),
        )
        if rows
        else '<p class="mute">No print jobs yet.</p>'
    )
    button = (
        '<p><button type="button" data-act="/v1/print/test" data-label="Test print">'
        "Print a test receipt</button></p>"
        if view.can_print
        else ""
    )
    return (
        f'<section id="printer"><h2>Printer</h2><p>{_state(p.state, "printer-state")} '
        f"{escape(p.detail)}</p>{button}{table}</section>"
    )


def _scanners(view: StatusView) -> str:
    items = "".join(
        f"<li>{escape(s.name)} ({escape(s.kind)}, {escape(s.mode)} at {escape(s.till)}): "
        f"{_state(s.state)} {escape(s.detail)}</li>"
        for s in view.health.scanners
    )
    return (
        '<section id="scanners"><h2>Scanners</h2>'
        + (f"<ul>{items}</ul>" if items else '<p class="mute">None configured.</p>')
        + "</section>"
    )


def _sync(view: StatusView) -> str:
    ob, cloud = view.health.outbox, view.health.cloud
    reach = {True: "reachable", False: "unreachable", None: "not contacted yet"}[cloud.reachable]
    dead_rows = [
        [
            escape(str(d.get("type", ""))),
            escape(str(d.get("order_id") or "")),
            escape(str(d.get("last_error") or "")),
        ]
        for d in view.dead_letters
    ]
    dead = (
        scroll_table(
            "Refused by the cloud",
            ["Event", "Order", "Reason"],
            dead_rows,
            caption_cls="bad",
            wrap=frozenset({2}),
        )
        if dead_rows
        else ""
    )
    error = f'<p class="bad">Last error: {escape(cloud.last_error)}</p>' if cloud.last_error else ""
    return (
        '<section id="sync"><h2>Sync</h2>'
        f'<p>Waiting to sync: <strong id="pending">{ob.pending + ob.sent}</strong> '
        f"(oldest {_age(ob.oldest_pending_age_s)}); "
        f'dead letters: <strong class="{"bad" if ob.dead else "ok"}" id="dead">{ob.dead}</strong>; '
        f"synced and kept: {ob.acked}</p>"
        f'<p>Cloud: <span class="{_cls("ok" if cloud.reachable else "error")}">{reach}</span>; '
        f"last sync {_when(cloud.last_sync_at, view.tz)}</p>{error}{dead}</section>"
    )


def _orders(view: StatusView) -> str:
    rows = [
        [
            escape(str(o["order_id"])),
            escape(str(o.get("till") or "")),
            str(o["stamps"]),
            escape(_KINDS.get(str(o["kind"]), str(o["kind"]))),
            "voided" if o.get("voided") else "paid",
            escape(str(o.get("rewards") or "")),
            _when(o.get("created_at"), view.tz),
        ]
        for o in view.recent_orders
    ]
    return (
        '<section id="orders"><h2>Recent checks</h2>'
        + (
            scroll_table(
                "Recent checks",
                ["Check", "Till", "Stamps", "Kind", "State", "Rewards", f"At ({view.tz.key})"],
                rows,
                wrap=frozenset({5}),
                caption=False,  # the section's heading says it
            )
            if rows
            else '<p class="mute">No checks yet.</p>'
        )
        + "</section>"
    )


def _updated(view: StatusView) -> str:
    if view.now is None:
        return ""
    at = escape(local_text(view.now, view.tz, seconds=True))
    return f'Page from <time id="page-time">{at}</time> ({escape(view.tz.key)}).'


def render_status_page(view: StatusView) -> str:
    """The page as HTML."""
    h = view.health
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stampedge agent: {escape(h.status)}</title><style>{_CSS}</style></head><body><main>
<h1>Stampedge agent {_state(h.status, "agent-state")}
<span class="mute">v{escape(h.version)}, up {_age(h.uptime_s)}</span></h1>
<p id="updated">{_updated(view)}
<form method="get" action="/"><button type="submit">Refresh</button></form></p>
<p class="mute" id="database">Database: <code>{escape(h.database)}</code></p>
<p id="note" role="status" aria-live="polite"></p>
<div class="grid">{_printer(view)}{_scanners(view)}{_sync(view)}</div>
{view.pairing}{_orders(view)}
</main><script>{_SCRIPT}</script></body></html>"""


def render_login_page(failed: bool) -> str:
    """Asks for the agent's token; the answer is kept in a same-site cookie."""
    problem = '<p class="bad" role="alert">That token is not right.</p>' if failed else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stampedge agent: sign in</title><style>{_CSS}</style></head><body><main>
<h1>Stampedge agent</h1><section><h2>Sign in</h2>{problem}
<form method="post" action="/login"><p><label for="token">Agent token</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required
 style="font:inherit;padding:6px;width:100%;max-width:360px"></p>
<p><button type="submit">Sign in</button></p></form></section></main></body></html>"""
