"""Small SVG drawings made on the server: a QR code, a row of stamps, a bar chart."""

from dataclasses import dataclass
from html import escape

import qrcode
import qrcode.constants


def qr_svg(data: str, *, size_px: int = 220, label: str = "QR code") -> str:
    """``data`` as an inline SVG QR code with a 4-module quiet zone, crisp at any zoom."""
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    path = "".join(
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, on in enumerate(row) if on
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{size_px}" '
        f'height="{size_px}" role="img" aria-label="{escape(label)}" '
        'shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )


# Past this many stamps a card's progress is one bar: a page stays a few kilobytes whatever
# goal a program names.
STAMPS_DRAWN_MAX = 40


def stamp_row(filled: int, goal: int, *, new: int = 0, filled_label: str, empty_label: str) -> str:
    """The card's progress drawn as stamps: ``filled`` of ``goal``, the last ``new`` highlighted
    (one bar instead when the goal is over ``STAMPS_DRAWN_MAX``)."""
    filled = max(0, min(filled, goal))
    if goal > STAMPS_DRAWN_MAX:
        width = round(100 * filled / goal, 1)
        return (
            f'<svg class="chart" viewBox="0 0 100 6" width="100%" role="img" '
            f'aria-label="{filled} / {goal}"><rect width="100" height="6" rx="3" fill="#ddd"/>'
            f'<rect width="{width}" height="6" rx="3" fill="#0b5d3b"/></svg>'
        )
    items = []
    for i in range(goal):
        on = i < filled
        fresh = on and i >= filled - new
        cls = "stamp on fresh" if fresh else "stamp on" if on else "stamp"
        label = filled_label if on else empty_label
        items.append(
            f'<li class="{cls}" aria-label="{escape(label)}">'
            '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="10"/>'
            + ('<path d="M7 12.5l3.2 3.2L17 9"/>' if on else "")
            + "</svg></li>"
        )
    return f'<ol class="stamps">{"".join(items)}</ol>'


@dataclass(frozen=True)
class Series:
    """One bar series of a chart: a name, a colour and a value per label."""

    name: str
    color: str
    values: list[float]


def bar_chart(title: str, labels: list[str], series: list[Series], *, height: int = 180) -> str:
    """Grouped bars, one group per label, with a legend; readable without colour (titles)."""
    width = max(320, 40 + len(labels) * (14 * len(series) + 18))
    top = max([v for s in series for v in s.values] + [1.0])
    plot_h = height - 40
    group_w = 14 * len(series) + 18
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        # never drawn below 80 % of its size (labels stay readable at 360 px: its box scrolls)
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart" '
        f'style="min-width:{round(width * 0.8)}px">'
        f"<title>{escape(title)}</title>",
        f'<line x1="30" y1="{plot_h + 5}" x2="{width}" y2="{plot_h + 5}" stroke="#999"/>',
        f'<text x="2" y="14" font-size="11" fill="#444">{_num(top)}</text>',
    ]
    for gi, label in enumerate(labels):
        x0 = 36 + gi * group_w
        for si, s in enumerate(series):
            v = s.values[gi] if gi < len(s.values) else 0.0
            h = 0 if top == 0 else round(v / top * plot_h, 1)
            parts.append(
                f'<rect x="{x0 + si * 14}" y="{plot_h + 5 - h}" width="12" height="{h}" '
                f'fill="{s.color}"><title>{escape(s.name)} {escape(label)}: {_num(v)}'
                "</title></rect>"
            )
        parts.append(
            f'<text x="{x0}" y="{height - 18}" font-size="10" fill="#444">'
            f"{escape(label[-6:])}</text>"
        )
    x = 36
    for s in series:
        parts.append(
            f'<rect x="{x}" y="{height - 11}" width="10" height="10" fill="{s.color}"/>'
            f'<text x="{x + 14}" y="{height - 2}" font-size="11" fill="#222">'
            f"{escape(s.name)}</text>"
        )
        x += 14 + len(s.name) * 7 + 16  # the next legend entry after this one's name
    parts.append("</svg>")
    return "".join(parts)


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"
