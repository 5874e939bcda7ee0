"""The owner's back-office page: plan use, the program editor per branch with a worked example,
staff and device keys, vouchers and delivery-insert batches (server-rendered, no script needed)."""

from dataclasses import dataclass, field
from html import escape

from sync.cloud.backoffice.codes import display
from sync.cloud.backoffice.models import BatchOut, PlanOut
from sync.cloud.models import BranchOut, DeviceOut, DeviceState
from sync.cloud.ui.layout import page
from sync.cloud.ui.svg import qr_svg
from sync.cloud.ui.texts import markup, plural, t
from sync.web.locale_format import day, month, number, percent

EXAMPLE_TOTAL = "23.50"


@dataclass
class BranchEdit:
    """A branch in the editor: its program (or the values just typed), the example, errors."""

    branch: BranchOut
    values: dict[str, str]
    example: str
    errors: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass
class DeviceRow:
    """A device key with its branch name and the last time its till's figures moved."""

    device: DeviceState
    branch: str
    last_seen: str  # local time in the branch's zone, or "never"


@dataclass
class BackOfficeView:
    """Everything the page shows."""

    business: str
    csrf: str
    plan: PlanOut
    branches: list[BranchEdit]
    devices: list[DeviceRow]
    batches: list[BatchOut]
    new_key: DeviceOut | None = None
    new_key_url: str = ""
    new_batch: BatchOut | None = None
    new_voucher: BatchOut | None = None
    voucher_for: str = ""  # whose card the new voucher went on ("": a link to send)
    problem: str = ""
    lang: str = "en"  # the business's language (or the one the owner picked)


# The program form's fields and the catalogue keys of their labels (its error sentences name them).
PROGRAM_LABELS: dict[str, str] = {
    "rule": "bo.rule", "step": "bo.step", "stamps_per_order": "bo.stamps_per_order",
    "min_total": "bo.min_total", "max_stamps_per_order": "bo.max_stamps", "goal": "bo.goal",
    "currency": "bo.currency", "reward": "bo.reward", "reward_name": "bo.reward_name",
    "voucher_valid_days": "bo.voucher_days", "activation_delay_hours": "bo.activation",
    "lottery_budget": "bo.lottery_budget",
}  # fmt: skip


def _hidden(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(csrf)}">'


def _field(bid: int, name: str, label: str, value: str, errors: dict[str, str], *,
           kind: str = "text", hint: str = "") -> str:  # fmt: skip
    fid = f"p{bid}-{name}"
    err = errors.get(name)
    described = f' aria-describedby="{fid}-err"' if err else ""
    invalid = ' aria-invalid="true"' if err else ""
    return (
        f'<p><label for="{fid}">{escape(label)}</label><br>'
        f'<input id="{fid}" name="{name}" type="{kind}" value="{escape(value)}"'
        f"{invalid}{described} "
        'style="font:inherit;padding:6px;width:100%">'
        + (f'<br><span class="mute">{escape(hint)}</span>' if hint else "")
        + (f'<br><span class="bad" id="{fid}-err">{escape(err)}</span>' if err else "")
        + "</p>"
    )


def _select(bid: int, name: str, label: str, value: str, options: list[tuple[str, str]]) -> str:
    fid = f"p{bid}-{name}"
    opts = "".join(
        f'<option value="{v}"{" selected" if v == value else ""}>{escape(text)}</option>'
        for v, text in options
    )
    return (
        f'<p><label for="{fid}">{escape(label)}</label><br>'
        f'<select id="{fid}" name="{name}" style="font:inherit;padding:6px">{opts}</select></p>'
    )


def _program(edit: BranchEdit, csrf: str, lang: str) -> str:
    b, v, e = edit.branch, edit.values, edit.errors
    bid = b.branch_id
    general = e.get("", "")

    def tx(key: str) -> str:
        return t(key, lang)

    def label(name: str) -> str:
        return t(PROGRAM_LABELS[name], lang)

    version = t("bo.program.version", lang, zone=b.timezone, version=b.program_version)

    return (
        f'<section class="card program" id="program-{bid}" aria-labelledby="program-{bid}-h">'
        f'<h3 id="program-{bid}-h">{escape(t("bo.program.title", lang, branch=b.name))} '
        f'<span class="mute">({escape(version)})</span></h3>'
        + (f'<p class="bad" role="alert">{escape(general)}</p>' if general else "")
        + (f'<p class="note" role="status">{escape(edit.note)}</p>' if edit.note else "")
        + f'<form method="post" action="/backoffice/program/{bid}">{_hidden(csrf)}'
        + _select(bid, "rule", label("rule"), v.get("rule", "by_amount"),
                  [("per_order", tx("bo.rule.per_order")), ("by_amount", tx("bo.rule.by_amount"))])
        + _field(bid, "step", label("step"), v.get("step", ""), e, hint=tx("bo.step.hint"))
        + _field(bid, "stamps_per_order", label("stamps_per_order"),
                 v.get("stamps_per_order", ""), e, kind="number")
        + _field(bid, "min_total", label("min_total"), v.get("min_total", ""), e)
        + _field(bid, "max_stamps_per_order", label("max_stamps_per_order"),
                 v.get("max_stamps_per_order", ""), e, kind="number")
        + _field(bid, "goal", label("goal"), v.get("goal", ""), e, kind="number")
        + _field(bid, "currency", label("currency"), v.get("currency", ""), e)
        + _select(bid, "reward", label("reward"), v.get("reward", "gift"),
                  [("gift", tx("bo.reward.gift")), ("voucher", tx("bo.reward.voucher")),
                   ("lottery", tx("bo.reward.lottery"))])
        + _field(bid, "reward_name", label("reward_name"), v.get("reward_name", ""), e)
        + _field(bid, "voucher_valid_days", label("voucher_valid_days"),
                 v.get("voucher_valid_days", ""), e, kind="number")
        + _field(bid, "activation_delay_hours", label("activation_delay_hours"),
                 v.get("activation_delay_hours", ""), e, kind="number")
        + _field(bid, "lottery_budget", label("lottery_budget"),
                 v.get("lottery_budget", ""), e, kind="number")
        + f'<p class="lead example" id="example-{bid}" aria-live="polite">{escape(edit.example)}'
        "</p>"
        '<p><button class="btn" type="submit" name="action" value="preview">'
        f'{escape(tx("bo.preview"))}</button> '
        '<button class="btn" type="submit" name="action" value="save">'
        f'{escape(tx("bo.save"))}</button></p>'
        "</form></section>"
    )  # fmt: skip


def _plan(p: PlanOut, lang: str) -> str:
    unlimited = t("dash.unlimited", lang)
    limit = unlimited if p.ops_limit is None else number(p.ops_limit, lang)
    seats = unlimited if p.seats_limit is None else number(p.seats_limit, lang)
    over = (
        f'<p class="bad" role="alert">{escape(t("bo.plan.over", lang, n=number(p.over_by, lang)))}'
        "</p>"
        if p.over_by
        else ""
    )
    text = markup(
        "bo.plan.use", lang,
        plan=f"<strong>{escape(p.plan)}</strong>",
        used=f'<strong id="ops-used">{number(p.ops_used, lang)}</strong>',
        limit=limit, month=escape(month(p.month, lang)), zone=escape(p.timezone),
        seats_used=number(p.seats_used, lang), seats=seats,
    )  # fmt: skip
    return (
        '<section class="card" id="plan" aria-labelledby="plan-h">'
        f'<h2 id="plan-h">{escape(t("bo.plan", lang))}</h2><p>{text}</p>{over}</section>'
    )


def _devices(rows: list[DeviceRow], branches: list[BranchEdit], csrf: str,
             new: DeviceOut | None, new_url: str, lang: str) -> str:  # fmt: skip
    shown = ""
    if new is not None:
        shown = (
            '<div class="card" id="new-key" role="status"><p class="lead">'
            f"{escape(t('bo.key.shown_once', lang, label=new.label))}</p>"
            f'<p class="code" id="new-key-text">{escape(new.device_key)}</p>'
            f'<p class="mute">{escape(t("bo.key.secret", lang))} '
            f'<code id="new-key-secret">{escape(new.device_secret)}</code></p>'
            f'<div class="qr">{qr_svg(new_url, size_px=200, label=t("bo.key.qr", lang))}'
            "</div></div>"
        )
    body = "".join(
        f'<tr data-device="{r.device.device_id}"><td>{escape(r.device.label)}</td>'
        f"<td>{escape(r.branch)}</td><td>{escape(r.last_seen)}</td>"
        + (
            f"<td>{escape(t('bo.key.revoked', lang, date=day(r.device.revoked_at, lang)))}</td>"
            if r.device.revoked_at
            else f'<td><form method="post" action="/backoffice/keys/{r.device.device_id}/revoke">'
            f'{_hidden(csrf)}<button class="btn" type="submit" '
            f'aria-label="{escape(t("bo.key.revoke_label", lang, label=r.device.label))}">'
            f"{escape(t('bo.key.revoke', lang))}</button></form></td>"
        )
        + "</tr>"
        for r in rows
    )
    options = "".join(
        f'<option value="{b.branch.branch_id}">{escape(b.branch.name)}</option>' for b in branches
    )
    caption = t("bo.keys.caption", lang)
    cols = "".join(
        f'<th scope="col">{escape(t(k, lang))}</th>'
        for k in ("bo.keys.name", "bo.keys.branch", "bo.keys.last", "bo.keys.key")
    )
    return (
        '<section class="card" id="keys" aria-labelledby="keys-h">'
        f'<h2 id="keys-h">{escape(t("bo.keys", lang))}</h2>' + shown
        + '<div class="scroll" tabindex="0" role="region" '
        f'aria-label="{escape(t("dash.scrolls", lang, label=caption))}">'
        f'<table><caption class="mute">{escape(caption)}</caption><thead><tr>{cols}'
        f'</tr></thead><tbody>{body}</tbody></table></div>'
        f'<form method="post" action="/backoffice/keys">{_hidden(csrf)}'
        f'<p><label for="key-label">{escape(t("bo.keys.new_name", lang))}</label><br>'
        '<input id="key-label" name="label" required maxlength="200" '
        'style="font:inherit;padding:6px;width:100%"></p>'
        f'<p><label for="key-branch">{escape(t("bo.keys.branch", lang))}</label><br>'
        f'<select id="key-branch" name="branch_id" style="font:inherit;padding:6px">{options}'
        f'</select></p><p><button class="btn" type="submit">{escape(t("bo.keys.create", lang))}'
        "</button></p></form></section>"
    )  # fmt: skip


def _voucher(csrf: str, new: BatchOut | None, owner: str, lang: str) -> str:
    made = ""
    if new is not None and new.codes:
        code = new.codes[0]
        where = t("bo.voucher.on_card", lang, owner=owner) if owner else t("bo.voucher.send", lang)
        made = (
            f'<div class="card" id="voucher-made" role="status"><p class="lead">'
            f"{escape(t('bo.voucher.made', lang, code=display(code.code)))} {escape(where)}</p>"
            + (
                ""
                if owner
                else f'<p class="code"><a id="voucher-link" href="{escape(code.url)}">'
                f"{escape(code.url)}</a></p>"
                f'<div class="qr">{qr_svg(code.url, size_px=180, label=t("bo.voucher.qr", lang))}'
                "</div>"
            )
            + "</div>"
        )
    gift = escape(t("bo.gift_title", lang))
    return (
        '<section class="card" id="voucher" aria-labelledby="voucher-h">'
        f'<h2 id="voucher-h">{escape(t("bo.voucher", lang))}</h2>' + made
        + f'<form method="post" action="/backoffice/voucher">{_hidden(csrf)}'
        f'<p><label for="v-customer">{escape(t("bo.voucher.for", lang))}'
        '</label><br><input id="v-customer" name="customer" maxlength="200" '
        'style="font:inherit;padding:6px;width:100%"></p>'
        f'<p><label for="v-title">{escape(t("bo.voucher.gives", lang))}</label><br>'
        '<input id="v-title" name="title" '
        f'maxlength="80" value="{gift}" required style="font:inherit;padding:6px;'
        f'width:100%"></p><p><label for="v-days">{escape(t("bo.valid_days", lang))}</label><br>'
        '<input id="v-days" name="valid_days" type="number" min="1" max="3650" value="30" '
        'style="font:inherit;padding:6px"></p>'
        f'<p><button class="btn" type="submit">{escape(t("bo.voucher.make", lang))}</button></p>'
        "</form></section>"
    )  # fmt: skip


def gives(b: BatchOut, lang: str) -> str:
    """What each code of a batch gives, in ``lang``: "3 pieczątki", "ваучер"."""
    return (
        plural("bo.batch.stamps", b.stamps, lang)
        if b.kind == "stamps"
        else t("bo.batch.voucher", lang)
    )


def _batches(batches: list[BatchOut], csrf: str, new: BatchOut | None, lang: str) -> str:
    made = ""
    if new is not None:
        text = t("bo.batch.made", lang, batch=new.batch_id, first=display(new.codes[0].code),
                 count=number(new.count, lang))  # fmt: skip
        made = f'<p class="lead" role="status" id="batch-made">{escape(text)}</p>'
    rows = "".join(
        f'<tr data-batch="{b.batch_id}"><td>{b.batch_id}</td><td>{escape(b.title)}</td>'
        f"<td>{escape(gives(b, lang))}</td>"
        f"<td>{number(b.count, lang)}</td><td>{number(b.printed, lang)}</td>"
        f"<td>{number(b.claimed, lang)}</td><td>{number(b.redeemed, lang)}</td>"
        f"<td>{percent(b.conversion, lang)}</td><td>{escape(day(b.expires_at, lang))}</td>"
        f'<td><a href="/v1/vouchers/batch/{b.batch_id}.pdf" id="pdf-{b.batch_id}">'
        f'{escape(t("bo.batch.labels", lang))}'
        f'</a> · <a href="/v1/vouchers/batch/{b.batch_id}.pdf?layout=flyers">'
        f'{escape(t("bo.batch.flyers", lang))}</a> · '
        f'<a href="/v1/vouchers/batch/{b.batch_id}.csv">CSV</a> · '
        f'<a href="/v1/vouchers/batch/{b.batch_id}.escpos">'
        f'{escape(t("bo.batch.printer", lang))}</a></td></tr>'
        for b in batches
    )  # fmt: skip
    gift = escape(t("bo.gift_title", lang))
    caption = t("bo.batches.caption", lang)
    cols = "".join(
        f'<th scope="col">{escape(t(k, lang))}</th>'
        for k in ("bo.col.batch", "bo.col.title", "bo.col.gives", "bo.col.codes",
                  "bo.col.printed", "bo.col.claimed", "bo.col.redeemed", "dash.col.conversion",
                  "bo.col.use_by", "bo.col.download")
    )  # fmt: skip
    return (
        '<section class="card" id="batches" aria-labelledby="batches-h">'
        f'<h2 id="batches-h">{escape(t("bo.batches", lang))}</h2>' + made
        + f'<form method="post" action="/backoffice/batches">{_hidden(csrf)}'
        f'<p><label for="b-count">{escape(t("bo.batch.count", lang))}</label><br>'
        '<input id="b-count" name="count" '
        'type="number" min="1" max="1000" value="30" required style="font:inherit;padding:6px">'
        f'</p><p><label for="b-kind">{escape(t("bo.batch.kind", lang))}</label><br>'
        '<select id="b-kind" name="kind" style="font:inherit;padding:6px"><option value="stamps">'
        f'{escape(t("bo.batch.kind.stamps", lang))}</option><option value="voucher">'
        f'{escape(t("bo.reward.voucher", lang))}</option></select></p>'
        f'<p><label for="b-stamps">{escape(t("bo.batch.per_code", lang))}</label><br>'
        '<input id="b-stamps" name="stamps" '
        'type="number" min="1" max="50" value="1" style="font:inherit;padding:6px"></p>'
        f'<p><label for="b-title">{escape(t("bo.batch.title", lang))}</label><br>'
        '<input id="b-title" '
        f'name="title" maxlength="80" value="{gift}" style="font:inherit;padding:6px;'
        f'width:100%"></p><p><label for="b-days">{escape(t("bo.valid_days", lang))}</label><br>'
        '<input id="b-days" name="valid_days" type="number" min="1" max="3650" value="30" '
        'style="font:inherit;padding:6px"></p>'
        f'<p><button class="btn" type="submit">{escape(t("bo.batch.make", lang))}</button></p>'
        "</form>"
        '<div class="scroll" tabindex="0" role="region" '
        f'aria-label="{escape(t("dash.scrolls", lang, label=caption))}">'
        f'<table><caption class="mute">{escape(caption)}</caption><thead><tr>{cols}'
        f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )  # fmt: skip


def render_backoffice(view: BackOfficeView) -> str:
    """The whole back-office page."""
    lang = view.lang
    problem = (
        f'<p class="bad" role="alert" id="problem">{escape(view.problem)}</p>'
        if view.problem
        else ""
    )
    title = t("bo.title", lang, business=view.business)
    body = (
        f"<h1>{escape(title)}</h1>"
        f'<nav aria-label="{escape(t("dash.nav", lang))}"><p><a href="/dashboard">'
        f'{escape(t("bo.figures", lang))}</a> · '
        f'<a href="/backoffice">{escape(t("dash.backoffice", lang))}</a></p>'
        f'<form method="post" action="/backoffice/logout">{_hidden(view.csrf)}'
        f'<button class="btn" type="submit">{escape(t("dash.sign_out", lang))}</button> '
        '<button class="btn" type="submit" name="everywhere" value="1">'
        f'{escape(t("dash.sign_out_everywhere", lang))}</button>'
        "</form></nav>"
        + problem
        + _plan(view.plan, lang)
        + '<section aria-labelledby="programs-h">'
        f'<h2 id="programs-h">{escape(t("bo.programs", lang))}</h2>'
        + "".join(_program(b, view.csrf, lang) for b in view.branches)
        + "</section>"
        + _devices(view.devices, view.branches, view.csrf, view.new_key, view.new_key_url, lang)
        + _voucher(view.csrf, view.new_voucher, view.voucher_for, lang)
        + _batches(view.batches, view.csrf, view.new_batch, lang)
    )  # fmt: skip
    return page(title, body, lang=lang, wide=True, langs=True)
