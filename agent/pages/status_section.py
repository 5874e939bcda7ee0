"""The status page's "Phones and tablets" section: the open pairing code with its QR, and every
paired device with its scans and a button to unpair it (plain forms: no script needed)."""

from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agent.pages.pairing import ROLES, DeviceSession, PairingCode
from printers.qr_export import qr_svg
from sync.web.local_time import local_text
from sync.web.locale_format import number
from sync.web.page_table import scroll_table
from sync.web.texts import markup, t

# "Pair a kiosk" / "Pair a staff phone" and the code's line, by role.
_PAIR = {"kiosk": "pairing.pair.kiosk", "staff": "pairing.pair.staff"}
_CODE_FOR = {"kiosk": "pairing.code.kiosk", "staff": "pairing.code.staff"}
_ROLES = {"kiosk": "pairing.role.kiosk", "staff": "pairing.role.staff"}


@dataclass
class PairingView:
    """What the section shows; ``scans`` counts each device's scans (``device:<id>``)."""

    base_url: str
    now: float
    code: PairingCode | None
    sessions: list[DeviceSession]
    scans: dict[str, int] = field(default_factory=dict)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # the branch's
    lang: str = "en"  # the branch's (ProgramSource.language)


def render_pairing_section(view: PairingView) -> str:
    """The section's HTML (every value escaped)."""
    lang = view.lang
    if view.code is not None:
        url = f"{view.base_url}/pair?code={quote(view.code.code)}"
        minutes = max(1, round((view.code.expires_at - view.now) / 60))
        spaced = f"{view.code.code[:3]} {view.code.code[3:]}"
        line = markup(
            _CODE_FOR[view.code.role], lang,
            code=f'<strong class="code" id="pairing-code">{escape(spaced)}</strong>',
            minutes=number(minutes, lang),
        )  # fmt: skip
        where = markup("pairing.where", lang, url=f"<strong>{escape(view.base_url)}/pair</strong>")
        code = (
            f'<p>{line}</p><div class="qr">{qr_svg(url, ec="M", module_px=4)}</div>'
            f"<p>{where}</p>"
            '<form method="post" action="/pairing/close"><button type="submit">'
            f"{escape(t('pairing.withdraw', lang))}</button></form>"
        )
    else:
        code = "".join(
            f'<form method="post" action="/pairing/code" class="inline">'
            f'<input type="hidden" name="role" value="{role}">'
            f'<button type="submit">{escape(t(_PAIR[role], lang))}</button></form> '
            for role in ROLES
        )
    rows = [
        [
            escape(s.name),
            escape(t(_ROLES[s.role], lang) if s.role in _ROLES else s.role),
            escape(local_text(s.created_at, view.tz, lang=lang)),
            number(view.scans.get(s.source, 0), lang),
            f'<span class="mute">{escape(_unpaired(s.revoked_at, view.tz, lang))}</span>'
            if s.revoked_at is not None
            else f'<form method="post" action="/pairing/sessions/{escape(s.session_id)}/revoke">'
            f'<button type="submit" '
            f'aria-label="{escape(t("pairing.unpair.label", lang, name=s.name))}">'
            f'{escape(t("pairing.unpair", lang))}</button></form>',
        ]
        for s in view.sessions
    ]  # fmt: skip
    head = [t("pairing.col.name", lang), t("pairing.col.role", lang),
            t("pairing.col.paired", lang, zone=view.tz.key), t("pairing.col.scans", lang),
            t("status.col.action", lang)]  # fmt: skip
    table = (
        scroll_table(t("pairing.devices", lang), head, rows, table_id="devices")
        if rows
        else f'<p class="mute">{escape(t("pairing.none", lang))}</p>'
    )
    intro = markup("pairing.intro", lang, kiosk="<code>/kiosk</code>", staff="<code>/staff</code>")
    return (
        f'<section id="pairing"><h2>{escape(t("pairing.title", lang))}</h2>'
        f"<p>{intro}</p>{code}{table}</section>"
    )


def _unpaired(at: float, tz: ZoneInfo, lang: str) -> str:
    return t("pairing.unpaired", lang, when=local_text(at, tz, lang=lang))
