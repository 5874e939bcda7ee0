"""The status page's "Phones and tablets" section: the open pairing code with its QR, and every
paired device with its scans and a button to unpair it (plain forms: no script needed)."""

from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agent.pages.pairing import ROLES, DeviceSession, PairingCode
from printers.qr_export import qr_svg
from sync.web.local_time import local_text
from sync.web.page_table import scroll_table

_ROLE_NAMES = {"kiosk": "a kiosk", "staff": "a staff phone"}


@dataclass
class PairingView:
    """What the section shows; ``scans`` counts each device's scans (``device:<id>``)."""

    base_url: str
    now: float
    code: PairingCode | None
    sessions: list[DeviceSession]
    scans: dict[str, int] = field(default_factory=dict)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # the branch's


def render_pairing_section(view: PairingView) -> str:
    """The section's HTML (every value escaped)."""
    if view.code is not None:
        url = f"{view.base_url}/pair?code={quote(view.code.code)}"
        minutes = max(1, round((view.code.expires_at - view.now) / 60))
        spaced = f"{view.code.code[:3]} {view.code.code[3:]}"
        code = (
            f"<p>Pairing code for {escape(_ROLE_NAMES[view.code.role])}: "
            f'<strong class="code" id="pairing-code">{escape(spaced)}</strong> '
            f'(for {minutes} min, one device)</p><div class="qr">{qr_svg(url, ec="M", module_px=4)}'
            f"</div><p>On the device open <strong>{escape(view.base_url)}/pair</strong> and enter "
            "the code, or scan the QR with its camera.</p>"
            '<form method="post" action="/pairing/close"><button type="submit">'
            "Withdraw the code</button></form>"
        )
    else:
        code = "".join(
            f'<form method="post" action="/pairing/code" class="inline">'
            f'<input type="hidden" name="role" value="{role}">'
            f'<button type="submit">Pair {escape(_ROLE_NAMES[role])}</button></form> '
            for role in ROLES
        )
    rows = [
        [
            escape(s.name),
            escape(s.role),
            escape(local_text(s.created_at, view.tz)),
            str(view.scans.get(s.source, 0)),
            f'<span class="mute">unpaired {escape(local_text(s.revoked_at, view.tz))}</span>'
            if s.revoked_at is not None
            else f'<form method="post" action="/pairing/sessions/{escape(s.session_id)}/revoke">'
            f'<button type="submit" aria-label="Unpair {escape(s.name)}">Unpair</button></form>',
        ]
        for s in view.sessions
    ]
    head = ["Name", "Role", f"Paired ({view.tz.key})", "Scans", "Action"]
    table = (
        scroll_table("Paired devices", head, rows, table_id="devices")
        if rows
        else '<p class="mute">No phone or tablet paired yet.</p>'
    )
    return (
        '<section id="pairing"><h2>Phones and tablets</h2>'
        "<p>The kiosk (<code>/kiosk</code>) and the staff scanner (<code>/staff</code>) run on "
        f"paired devices.</p>{code}{table}</section>"
    )
