"""Tables on pages for people, the agent's and the cloud's: readable at 360 px and 1280 px.

A wide box gets an ordinary table; in a box under 560 px (a phone, or a narrow column of a wide
screen: a container query) each row stacks into "label: value" lines (a value too long to sit
beside its label moves whole to the next line), so no column is squeezed and no order id breaks
mid-word. The table sits in a labelled region the keyboard can focus (it scrolls sideways if a
value is still too long). Explicit ARIA roles keep the table's meaning for screen readers when
its rows are drawn as blocks.
"""

from collections.abc import Sequence
from html import escape

TABLE_CSS = """
.stackbox{overflow-x:auto;container-type:inline-size}.stackbox:focus{outline:3px solid #1a5fb4}
.stack{border-collapse:collapse;width:100%;font-size:.92rem}
.stack caption{text-align:left;padding:2px 0}
.stack th,.stack td{text-align:left;padding:4px 6px;border-bottom:1px solid #ddd;
white-space:nowrap;vertical-align:top}.stack th{background:#f0f0f0}
.stack td.wrap{white-space:normal;min-width:14em}
@container (max-width:560px){
.stack thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.stack tr{display:block;border-bottom:1px solid #ddd;padding:4px 0}
.stack td{display:flex;flex-wrap:wrap;column-gap:10px;border:0;padding:2px 4px;min-width:0}
.stack td::before{content:attr(data-label);flex:0 0 6.5em;font-weight:600;color:#444}
.stack td.wrap>.v{flex:1 1 10em;min-width:0}}
"""


_WRAP = ' class="wrap"'


def scroll_table(
    label: str,
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    wrap: frozenset[int] = frozenset(),
    caption_cls: str = "mute",
    caption: bool = True,
    table_id: str = "",
) -> str:
    """``rows`` of cells (already-escaped HTML) under the ``head`` names; the columns in
    ``wrap`` (long free text) may wrap, the others never break."""
    ident = f' id="{escape(table_id)}"' if table_id else ""
    names = [escape(h) for h in head]
    ths = "".join(f'<th scope="col" role="columnheader">{n}</th>' for n in names)
    body = "".join(
        '<tr role="row">'
        + "".join(
            f'<td role="cell" data-label="{names[i]}"{_WRAP if i in wrap else ""}>'
            f'<span class="v">{cell}</span></td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    cap = f'<caption class="{caption_cls}">{escape(label)}</caption>' if caption else ""
    return (
        f'<div class="scroll stackbox" role="region" tabindex="0" aria-label="{escape(label)}">'
        f'<table class="stack" role="table"{ident}>{cap}'
        f'<thead><tr role="row">{ths}</tr></thead><tbody>{body}</tbody></table></div>'
    )
