"""The branch dashboard for the shop owner: per branch and per device, per day, the orders,
stamps, receipt-QR conversion and rewards, with server-drawn SVG charts."""

from collections import defaultdict
from html import escape

from pydantic import BaseModel

from sync.cloud.ui.layout import page
from sync.cloud.ui.svg import Series, bar_chart


class DayFigures(BaseModel):
    """One day of one device (or of a whole branch when ``device`` is empty)."""

    day: str  # ISO date in the branch's time zone
    branch: str
    device: str = ""
    orders: int = 0
    stamps: int = 0
    claims_issued: int = 0
    claims_claimed: int = 0
    rewards_issued: int = 0
    rewards_redeemed: int = 0


class DashboardView(BaseModel):
    """The figures for a period."""

    business: str
    period: str
    rows: list[DayFigures]
    # per branch: rewards redeemed twice (two tills offline), voids of checks with a reward
    alerts: dict[str, tuple[int, int]] = {}
    zones: dict[str, str] = {}  # branch name -> its time zone (days are counted in it)
    plan: str = ""  # "12 of 100 card operations in 2026-12", shown under the title

    csrf: str = ""  # the session's CSRF token: a sign-out button when signed in by cookie


def _alerts(conflicts: int, voided: int) -> str:
    """What a manager must look at: refunded reward sales and double redemptions."""
    said = []
    if voided:
        said.append(
            f'<strong class="voided-reward-checks">{voided}</strong> voided check'
            f"{'s' if voided != 1 else ''} that issued or redeemed a reward"
        )
    if conflicts:
        said.append(
            f'<strong class="redeem-conflicts">{conflicts}</strong> reward'
            f"{'s' if conflicts != 1 else ''} redeemed a second time by another till while "
            "offline (counted once)"
        )
    return f'<p class="alert">Check: {"; ".join(said)}</p>' if said else ""


def _rate(claimed: int, issued: int) -> str:
    return f"{claimed / issued * 100:.0f} %" if issued else "-"


def _sum(rows: list[DayFigures], branch: str, device: str = "") -> DayFigures:
    out = DayFigures(day="total", branch=branch, device=device)
    for r in rows:
        for f in (
            "orders",
            "stamps",
            "claims_issued",
            "claims_claimed",
            "rewards_issued",
            "rewards_redeemed",
        ):
            setattr(out, f, getattr(out, f) + getattr(r, f))
    return out


def _table(rows: list[DayFigures], first: str, label: str) -> str:
    body = "".join(
        f"<tr><td>{escape(r.day if first == 'day' else r.device or '-')}</td><td>{r.orders}</td>"
        f"<td>{r.stamps}</td><td>{r.claims_issued}</td><td>{r.claims_claimed}</td>"
        f"<td>{_rate(r.claims_claimed, r.claims_issued)}</td><td>{r.rewards_issued}</td>"
        f"<td>{r.rewards_redeemed}</td></tr>"
        for r in rows
    )
    head = "Day" if first == "day" else "Device"
    cols = (head, "Orders", "Stamps collected (on cards)", "Receipt QRs printed",
            "Receipt QRs claimed", "Conversion", "Rewards issued", "Redeemed")  # fmt: skip
    heads = "".join(f'<th scope="col">{escape(c)}</th>' for c in cols)
    # a region that scrolls sideways is focusable and named, so keyboard users can scroll it
    return (
        f'<div class="scroll" tabindex="0" role="region" aria-label="{escape(label)}, scrolls '
        f'sideways"><table><caption class="mute">{escape(label)}</caption><thead><tr>{heads}'
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


def render_dashboard(view: DashboardView) -> str:
    """The dashboard page."""
    by_branch: dict[str, list[DayFigures]] = defaultdict(list)
    for r in view.rows:
        by_branch[r.branch].append(r)
    sections = []
    for branch, rows in sorted(by_branch.items()):
        days = sorted({r.day for r in rows})
        per_day = [_sum([r for r in rows if r.day == d], branch) for d in days]
        for d, fig in zip(days, per_day, strict=True):
            fig.day = d
        devices = sorted({r.device for r in rows})
        per_device = [_sum([r for r in rows if r.device == dev], branch, dev) for dev in devices]
        total = _sum(rows, branch)
        chart_orders = bar_chart(
            f"Orders and stamps collected per day, {branch}",
            days,
            [
                Series("orders", "#0b5d3b", [float(f.orders) for f in per_day]),
                Series("stamps collected", "#c2410c", [float(f.stamps) for f in per_day]),
            ],
        )
        chart_claims = bar_chart(
            f"Receipt QRs printed and claimed per day, {branch}",
            days,
            [
                Series("QRs printed", "#6b7280", [float(f.claims_issued) for f in per_day]),
                Series("claimed", "#1d4ed8", [float(f.claims_claimed) for f in per_day]),
            ],
        )
        sections.append(
            f'<section class="card branch" data-branch="{escape(branch)}">'
            f"<h2>{escape(branch)}</h2>"
            + (
                f'<p class="mute">Days and times in {escape(view.zones[branch])}.</p>'
                if branch in view.zones
                else ""
            )
            + f'<p><strong class="total-orders">{total.orders}</strong> orders, '
            f'<strong class="total-stamps">{total.stamps}</strong> stamps collected on cards, '
            f'<strong class="total-printed">{total.claims_issued}</strong> receipt QRs printed '
            f"({total.claims_claimed} claimed: conversion "
            f'<strong class="conversion">{_rate(total.claims_claimed, total.claims_issued)}'
            f"</strong>), rewards {total.rewards_issued} issued / "
            f"{total.rewards_redeemed} redeemed</p>"
            + _alerts(*view.alerts.get(branch, (0, 0)))
            + f'<div class="grid"><div class="chartbox" tabindex="0" role="region" '
            f'aria-label="Orders and stamps chart">{chart_orders}</div>'
            f'<div class="chartbox" tabindex="0" role="region" '
            f'aria-label="Receipt QRs chart">{chart_claims}</div></div>'
            f"<h3>Per day</h3>{_table(per_day, 'day', f'{branch} per day')}"
            f"<h3>Per device</h3>{_table(per_device, 'device', f'{branch} per device')}"
            "</section>"
        )
    plan = f'<p id="plan-use">{escape(view.plan)}</p>' if view.plan else ""
    nav = '<nav aria-label="Owner pages"><p><a href="/backoffice">Back office</a></p></nav>'
    sign_out = (
        '<form method="post" action="/dashboard/logout">'
        f'<input type="hidden" name="csrf" aria-label="form token" value="{escape(view.csrf)}">'
        '<button class="btn" type="submit" id="sign-out">Sign out</button></form>'
        if view.csrf
        else ""
    )
    body = (
        (
            f"<h1>{escape(view.business)}: figures</h1>{nav}{plan}"
            f'<p class="mute">{escape(view.period)}</p>'
        )
        + ("".join(sections) or '<p class="mute">No activity in this period.</p>')
        + sign_out
    )
    return page(f"{view.business}: figures", body, wide=True)
