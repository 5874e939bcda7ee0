"""The branch dashboard for the shop owner: per branch and per device, per day, the orders,
stamps, receipt-QR conversion and rewards, with server-drawn SVG charts."""

from collections import defaultdict
from datetime import date
from html import escape

from pydantic import BaseModel

from sync.cloud.ui.layout import page
from sync.cloud.ui.svg import Series, bar_chart
from sync.cloud.ui.texts import markup, t
from sync.web.locale_format import day as long_day
from sync.web.locale_format import number, percent, short_day


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
    lang: str = "en"  # the business's language (or the one the owner picked)


def _alerts(conflicts: int, voided: int, lang: str) -> str:
    """What a manager must look at: refunded reward sales and double redemptions."""
    said = []
    if voided:
        n = f'<strong class="voided-reward-checks">{number(voided, lang)}</strong>'
        said.append(markup("dash.alert.voided", lang, voided, n=n))
    if conflicts:
        n = f'<strong class="redeem-conflicts">{number(conflicts, lang)}</strong>'
        said.append(markup("dash.alert.conflicts", lang, conflicts, n=n))
    return (
        f'<p class="alert">{markup("dash.alert", lang, items="; ".join(said))}</p>' if said else ""
    )


def _rate(claimed: int, issued: int, lang: str) -> str:
    return percent(claimed / issued, lang) if issued else "-"


def _day(iso: str, lang: str) -> str:
    try:
        return long_day(date.fromisoformat(iso), lang, width="short")  # a narrow column
    except ValueError:
        return iso


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


def _table(rows: list[DayFigures], first: str, label: str, lang: str) -> str:
    def n(v: int) -> str:
        return number(v, lang)

    body = "".join(
        f"<tr><td>{escape(_day(r.day, lang) if first == 'day' else r.device or '-')}</td>"
        f"<td>{n(r.orders)}</td><td>{n(r.stamps)}</td><td>{n(r.claims_issued)}</td>"
        f"<td>{n(r.claims_claimed)}</td><td>{_rate(r.claims_claimed, r.claims_issued, lang)}</td>"
        f"<td>{n(r.rewards_issued)}</td><td>{n(r.rewards_redeemed)}</td></tr>"
        for r in rows
    )
    head = t("dash.col.day", lang) if first == "day" else t("dash.col.device", lang)
    cols = (head, t("dash.col.orders", lang), t("dash.col.stamps", lang),
            t("dash.col.printed", lang), t("dash.col.claimed", lang),
            t("dash.col.conversion", lang), t("dash.col.rewards", lang),
            t("dash.col.redeemed", lang))  # fmt: skip
    heads = "".join(f'<th scope="col">{escape(c)}</th>' for c in cols)
    # a region that scrolls sideways is focusable and named, so keyboard users can scroll it
    scrolls = t("dash.scrolls", lang, label=label)
    return (
        f'<div class="scroll" tabindex="0" role="region" aria-label="{escape(scrolls)}">'
        f'<table><caption class="mute">{escape(label)}</caption><thead><tr>{heads}'
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


def render_dashboard(view: DashboardView) -> str:
    """The dashboard page."""
    lang = view.lang
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
        axis = [_axis_day(d, lang) for d in days]
        chart_orders = bar_chart(
            t("dash.chart.orders", lang, branch=branch),
            axis,
            [
                Series(
                    t("dash.series.orders", lang), "#0b5d3b", [float(f.orders) for f in per_day]
                ),
                Series(
                    t("dash.series.stamps", lang), "#c2410c", [float(f.stamps) for f in per_day]
                ),
            ],
        )
        chart_claims = bar_chart(
            t("dash.chart.claims", lang, branch=branch),
            axis,
            [
                Series(
                    t("dash.series.printed", lang),
                    "#6b7280",
                    [float(f.claims_issued) for f in per_day],
                ),
                Series(
                    t("dash.series.claimed", lang),
                    "#1d4ed8",
                    [float(f.claims_claimed) for f in per_day],
                ),
            ],
        )
        summary = markup(
            "dash.summary",
            lang,
            orders=f'<strong class="total-orders">{number(total.orders, lang)}</strong>',
            stamps=f'<strong class="total-stamps">{number(total.stamps, lang)}</strong>',
            printed=f'<strong class="total-printed">{number(total.claims_issued, lang)}</strong>',
            claimed=number(total.claims_claimed, lang),
            rate=f'<strong class="conversion">'
            f"{_rate(total.claims_claimed, total.claims_issued, lang)}</strong>",
            issued=number(total.rewards_issued, lang),
            redeemed=number(total.rewards_redeemed, lang),
        )
        sections.append(
            f'<section class="card branch" data-branch="{escape(branch)}">'
            f"<h2>{escape(branch)}</h2>"
            + (
                f'<p class="mute">{escape(t("dash.zone", lang, zone=view.zones[branch]))}</p>'
                if branch in view.zones
                else ""
            )
            + f"<p>{summary}</p>"
            + _alerts(*view.alerts.get(branch, (0, 0)), lang)
            + f'<div class="grid"><div class="chartbox" tabindex="0" role="region" '
            f'aria-label="{escape(t("dash.chart.orders.label", lang))}">{chart_orders}</div>'
            f'<div class="chartbox" tabindex="0" role="region" '
            f'aria-label="{escape(t("dash.chart.claims.label", lang))}">{chart_claims}</div></div>'
            f"<h3>{escape(t('dash.per_day', lang))}</h3>"
            + _table(per_day, "day", t("dash.per_day.caption", lang, branch=branch), lang)
            + f"<h3>{escape(t('dash.per_device', lang))}</h3>"
            + _table(per_device, "device", t("dash.per_device.caption", lang, branch=branch), lang)
            + "</section>"
        )
    plan = f'<p id="plan-use">{escape(view.plan)}</p>' if view.plan else ""
    nav = (
        f'<nav aria-label="{escape(t("dash.nav", lang))}"><p><a href="/backoffice">'
        f"{escape(t('dash.backoffice', lang))}</a></p></nav>"
    )
    sign_out = (
        '<form method="post" action="/dashboard/logout">'
        f'<input type="hidden" name="csrf" aria-label="{escape(t("dash.form_token", lang))}" '
        f'value="{escape(view.csrf)}"><button class="btn" type="submit" id="sign-out">'
        f"{escape(t('dash.sign_out', lang))}</button> "
        '<button class="btn" type="submit" name="everywhere" value="1" id="sign-out-everywhere">'
        f"{escape(t('dash.sign_out_everywhere', lang))}</button></form>"
        if view.csrf
        else ""
    )
    title = t("dash.title", lang, business=view.business)
    empty = f'<p class="mute">{escape(t("dash.empty", lang))}</p>'
    body = (
        f'<h1>{escape(title)}</h1>{nav}{plan}<p class="mute">{escape(view.period)}</p>'
        + ("".join(sections) or empty)
        + sign_out
    )
    return page(title, body, lang=lang, wide=True, langs=True)


def _axis_day(iso: str, lang: str) -> str:
    try:
        return short_day(date.fromisoformat(iso), lang)
    except ValueError:
        return iso
