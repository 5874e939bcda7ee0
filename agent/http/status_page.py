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
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agent.http.models import HealthAnswer
from sync.web.local_time import local_text
from sync.web.locale_format import number
from sync.web.page_table import TABLE_CSS, scroll_table
from sync.web.texts import markup, t

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
const T = JSON.parse(document.getElementById('texts').textContent);
async function act(url, label) {
  const note = document.getElementById('note');
  note.textContent = label + '...';
  try {
    const r = await fetch(url, {method: 'POST', credentials: 'same-origin',
                                headers: {'Content-Type': 'application/json'}});
    const body = await r.json().catch(() => ({}));
    note.textContent = r.ok ? label + ': ' + T.done :
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
      el.textContent = state ? (T.states[text] || text) : text;
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
    lang: str = "en"  # the branch's (ProgramSource.language)


_KINDS = {
    "receipt_qr.issued": "status.kind.receipt_qr",
    "order.stamped": "status.kind.stamped",
    "order.recorded": "status.kind.recorded",
    "order.attached": "status.kind.attached",
}
# The states a person sees, in words (a state not listed shows as it is).
STATES = {
    "ok": "state.ok", "degraded": "state.degraded", "error": "state.error",
    "unknown": "state.unknown", "disabled": "state.disabled", "paper_out": "state.paper_out",
    "cover_open": "state.cover_open", "offline": "state.offline", "queued": "state.queued",
    "sending": "state.sending", "sent": "state.sent", "confirmed": "state.confirmed",
    "failed": "state.failed", "stale": "state.stale", "starting": "state.starting",
    "reconnecting": "state.reconnecting", "stopped": "state.stopped",
}  # fmt: skip


# What printers/status.py says of a printer's answer, in the page's language (other details,
# such as where receipts go, show as they are).
DETAILS = {
    "out of paper: load a new roll": "printer.paper_out",
    "the printer cover is open": "printer.cover_open",
    "the printer reports an error (cutter jam or head too hot?)": "printer.error",
    "the printer is offline": "printer.offline",
    "ready; paper is running low": "printer.paper_low",
    "ready": "printer.ready",
    "the printer did not answer the status query": "printer.no_answer",
    "not checked yet": "printer.not_checked",
    "no printer configured": "printer.none",
}


def detail_words(detail: str, lang: str) -> str:
    """A printer's detail as the page says it."""
    return t(DETAILS[detail], lang) if detail in DETAILS else detail


def _cls(state: str | None) -> str:
    s = (state or "").lower()
    return "ok" if s in _GOOD else "bad" if s in _BAD else "warn"


def state_word(state: str | None, lang: str) -> str:
    """A state as the page says it."""
    s = state or "unknown"
    return t(STATES[s], lang) if s in STATES else s


def _state(state: str | None, lang: str, id_: str = "") -> str:
    ident = f' id="{id_}"' if id_ else ""
    word = state_word(state, lang)
    return f'<span class="state {_cls(state)}"{ident}>{escape(word)}</span>'


def _when(value: Any, tz: ZoneInfo, lang: str) -> str:
    if value is None:
        return f'<span class="mute">{escape(t("status.never", lang))}</span>'
    if isinstance(value, datetime | str):
        try:
            return escape(local_text(value, tz, lang=lang))
        except ValueError:
            pass
    return escape(str(value))


def _age(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return t("status.none_waiting", lang)
    if seconds < 120:
        return t("status.age.s", lang, n=number(round(seconds), lang))
    if seconds < 7200:
        return t("status.age.min", lang, n=number(round(seconds / 60), lang))
    return t("status.age.h", lang, n=number(Decimal(str(round(seconds / 3600, 1))), lang))


def _printer(view: StatusView) -> str:
    p, lang = view.health.printer, view.lang
    retry = t("status.retry", lang)
    rows = [
        [
            escape(str(j.get("job_id", "")))[:12],
            escape(str(j.get("order_id") or "")),
            _state(j.get("status"), lang),
            escape(state_word(j["reason"], lang) if j.get("reason") else ""),
            f'<button type="button" data-label="{escape(retry)}" '
            f'data-act="/v1/print/{escape(quote(str(j["job_id"]), safe=""))}/retry">'
            f"{escape(retry)}</button>"
            if j.get("status") in ("failed", "stale")
            else "",
        ]
        for j in view.print_jobs
    ]
    table = (
        scroll_table(
            t("status.jobs", lang),
            [t(k, lang) for k in ("status.col.job", "status.col.order", "status.col.status",
                                  "status.col.reason", "status.col.action")],
            rows,
            wrap=frozenset({3}),
        )
        if rows
        else f'<p class="mute">{escape(t("status.jobs.none", lang))}</p>'
    )  # fmt: skip
    button = (
        '<p><button type="button" data-act="/v1/print/test" '
        f'data-label="{escape(t("status.test_print", lang))}">'
        f"{escape(t('status.test_print.button', lang))}</button></p>"
        if view.can_print
        else ""
    )
    return (
        f'<section id="printer"><h2>{escape(t("status.printer", lang))}</h2>'
        f"<p>{_state(p.state, lang, 'printer-state')} {escape(detail_words(p.detail, lang))}</p>"
        f"{button}{table}"
        "</section>"
    )


def _scanners(view: StatusView) -> str:
    lang = view.lang
    items = "".join(
        "<li>"
        + escape(t("status.scanner", lang, name=s.name, kind=s.kind, mode=s.mode, till=s.till))
        + f" {_state(s.state, lang)} {escape(s.detail)}</li>"
        for s in view.health.scanners
    )
    none = f'<p class="mute">{escape(t("status.scanners.none", lang))}</p>'
    return (
        f'<section id="scanners"><h2>{escape(t("status.scanners", lang))}</h2>'
        + (f"<ul>{items}</ul>" if items else none)
        + "</section>"
    )


def _sync(view: StatusView) -> str:
    ob, cloud, lang = view.health.outbox, view.health.cloud, view.lang
    reach = t({True: "status.cloud.reachable", False: "status.cloud.unreachable",
               None: "status.cloud.not_yet"}[cloud.reachable], lang)  # fmt: skip
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
            t("status.dead", lang),
            [
                t("status.col.event", lang),
                t("status.col.order", lang),
                t("status.col.reason", lang),
            ],
            dead_rows,
            caption_cls="bad",
            wrap=frozenset({2}),
        )
        if dead_rows
        else ""
    )
    error = (
        f'<p class="bad">{escape(t("status.last_error", lang, error=cloud.last_error))}</p>'
        if cloud.last_error
        else ""
    )
    queue = markup(
        "status.queue", lang,
        pending=f'<strong id="pending">{ob.pending + ob.sent}</strong>',
        oldest=escape(_age(ob.oldest_pending_age_s, lang)),
        dead=f'<strong class="{"bad" if ob.dead else "ok"}" id="dead">{ob.dead}</strong>',
        kept=number(ob.acked, lang),
    )  # fmt: skip
    link = markup(
        "status.cloud", lang,
        reach=f'<span class="{_cls("ok" if cloud.reachable else "error")}">{escape(reach)}</span>',
        when=_when(cloud.last_sync_at, view.tz, lang),
    )  # fmt: skip
    return (
        f'<section id="sync"><h2>{escape(t("status.sync", lang))}</h2>'
        f"<p>{queue}</p><p>{link}</p>{error}{dead}</section>"
    )


def _kind(kind: str, lang: str) -> str:
    return t(_KINDS[kind], lang) if kind in _KINDS else kind


def _orders(view: StatusView) -> str:
    lang = view.lang
    rows = [
        [
            escape(str(o["order_id"])),
            escape(str(o.get("till") or "")),
            number(int(o["stamps"]), lang),
            escape(_kind(str(o["kind"]), lang)),
            escape(t("status.voided" if o.get("voided") else "status.paid", lang)),
            escape(str(o.get("rewards") or "")),
            _when(o.get("created_at"), view.tz, lang),
        ]
        for o in view.recent_orders
    ]
    title = t("status.checks", lang)
    head = [
        t(k, lang)
        for k in (
            "status.col.check",
            "status.col.till",
            "status.col.stamps",
            "status.col.kind",
            "status.col.state",
            "status.col.rewards",
        )
    ]
    head.append(t("status.col.at", lang, zone=view.tz.key))  # fmt: skip
    return (
        f'<section id="orders"><h2>{escape(title)}</h2>'
        + (
            scroll_table(title, head, rows, wrap=frozenset({5}), caption=False)
            if rows
            else f'<p class="mute">{escape(t("status.checks.none", lang))}</p>'
        )
        + "</section>"
    )


def _updated(view: StatusView) -> str:
    if view.now is None:
        return ""
    at = escape(local_text(view.now, view.tz, seconds=True, lang=view.lang))
    return markup("status.updated", view.lang, at=f'<time id="page-time">{at}</time>',
                  zone=escape(view.tz.key))  # fmt: skip


def _texts(lang: str) -> str:
    """The script's words: "done" and the states, as JSON safe inside a data block."""
    data = {"done": t("status.done", lang), "states": {s: t(k, lang) for s, k in STATES.items()}}
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace("&", "\\u0026")


def render_status_page(view: StatusView) -> str:
    """The page as HTML."""
    h, lang = view.health, view.lang
    title = t("status.title", lang)
    version = t("status.version", lang, version=h.version, up=_age(h.uptime_s, lang))
    return f"""<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}: {escape(state_word(h.status, lang))}</title><style>{_CSS}</style></head>
<body><main>
<h1>{escape(title)} {_state(h.status, lang, "agent-state")}
<span class="mute">{escape(version)}</span></h1>
<p id="updated">{_updated(view)}
<form method="get" action="/"><button type="submit">{escape(t("status.refresh", lang))}</button>
</form></p>
<p class="mute" id="database">{escape(t("status.database", lang))}
<code>{escape(h.database)}</code></p>
<p id="note" role="status" aria-live="polite"></p>
<div class="grid">{_printer(view)}{_scanners(view)}{_sync(view)}</div>
{view.pairing}{_orders(view)}
</main><script type="application/json" id="texts">{_texts(lang)}</script>
<script>{_SCRIPT}</script></body></html>"""


def render_login_page(failed: bool, lang: str = "en") -> str:
    """Asks for the agent's token; the answer is kept in a same-site cookie."""
    problem = (
        f'<p class="bad" role="alert">{escape(t("status.login.wrong", lang))}</p>' if failed else ""
    )
    title, sign_in = t("status.title", lang), t("login.button", lang)
    return f"""<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}: {escape(sign_in)}</title><style>{_CSS}</style></head><body><main>
<h1>{escape(title)}</h1><section><h2>{escape(sign_in)}</h2>{problem}
<form method="post" action="/login"><p><label for="token">{escape(t("status.login.token", lang))}
</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required
 style="font:inherit;padding:6px;width:100%;max-width:360px"></p>
<p><button type="submit">{escape(sign_in)}</button></p></form></section></main></body></html>"""
