"""The owner's back-office page: plan use, the program editor per branch with a worked example,
staff and device keys, vouchers and delivery-insert batches (server-rendered, no script needed)."""

from dataclasses import dataclass, field
from html import escape

from sync.cloud.backoffice.codes import display
from sync.cloud.backoffice.models import BatchOut, PlanOut
from sync.cloud.models import BranchOut, DeviceOut, DeviceState
from sync.cloud.ui.layout import page
from sync.cloud.ui.svg import qr_svg

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
        f'<option value="{v}"{" selected" if v == value else ""}>{escape(t)}</option>'
        for v, t in options
    )
    return (
        f'<p><label for="{fid}">{escape(label)}</label><br>'
        f'<select id="{fid}" name="{name}" style="font:inherit;padding:6px">{opts}</select></p>'
    )


def _program(edit: BranchEdit, csrf: str) -> str:
    b, v, e = edit.branch, edit.values, edit.errors
    bid = b.branch_id
    general = e.get("", "")
    return (
        f'<section class="card program" id="program-{bid}" aria-labelledby="program-{bid}-h">'
        f'<h3 id="program-{bid}-h">Program of {escape(b.name)} '
        f'<span class="mute">({escape(b.timezone)}, version {b.program_version})</span></h3>'
        + (f'<p class="bad" role="alert">{escape(general)}</p>' if general else "")
        + (f'<p class="note" role="status">{escape(edit.note)}</p>' if edit.note else "")
        + f'<form method="post" action="/backoffice/program/{bid}">{_hidden(csrf)}'
        + _select(bid, "rule", "Stamps are earned", v.get("rule", "by_amount"),
                  [("per_order", "per paid check"), ("by_amount", "per amount spent")])
        + _field(bid, "step", "Amount per stamp (by amount)", v.get("step", ""), e,
                 hint="e.g. 10.00: one stamp per 10 spent")
        + _field(bid, "stamps_per_order", "Stamps per check (per check)",
                 v.get("stamps_per_order", ""), e, kind="number")
        + _field(bid, "min_total", "Minimum check total (optional)", v.get("min_total", ""), e)
        + _field(bid, "max_stamps_per_order", "At most stamps per check (optional)",
                 v.get("max_stamps_per_order", ""), e, kind="number")
        + _field(bid, "goal", "Stamps for the reward", v.get("goal", ""), e, kind="number")
        + _field(bid, "currency", "Currency", v.get("currency", ""), e)
        + _select(bid, "reward", "Reward", v.get("reward", "gift"),
                  [("gift", "a gift"), ("voucher", "a voucher"), ("lottery", "a lottery moment")])
        + _field(bid, "reward_name", "Reward name", v.get("reward_name", ""), e)
        + _field(bid, "voucher_valid_days", "Voucher valid for days",
                 v.get("voucher_valid_days", ""), e, kind="number")
        + _field(bid, "activation_delay_hours", "Voucher usable after hours",
                 v.get("activation_delay_hours", ""), e, kind="number")
        + _field(bid, "lottery_budget", "Lottery prizes at most (optional)",
                 v.get("lottery_budget", ""), e, kind="number")
        + f'<p class="lead example" id="example-{bid}" aria-live="polite">{escape(edit.example)}'
        "</p>"
        '<p><button class="btn" type="submit" name="action" value="preview">Show example</button> '
        '<button class="btn" type="submit" name="action" value="save">Save program</button></p>'
        "</form></section>"
    )  # fmt: skip


def _plan(p: PlanOut) -> str:
    limit = "unlimited" if p.ops_limit is None else str(p.ops_limit)
    seats = "unlimited" if p.seats_limit is None else str(p.seats_limit)
    over = (
        f'<p class="bad" role="alert">{p.over_by} operations over the plan this month: stamps at '
        "the till were still given; new vouchers and batches wait for next month or an upgrade."
        "</p>"
        if p.over_by
        else ""
    )
    return (
        '<section class="card" id="plan" aria-labelledby="plan-h"><h2 id="plan-h">Plan</h2>'
        f'<p>Plan <strong>{escape(p.plan)}</strong>: <strong id="ops-used">{p.ops_used}</strong> '
        f"of {limit} card operations in {escape(p.month)} ({escape(p.timezone)}); "
        f"staff seats {p.seats_used} of {seats}.</p>{over}</section>"
    )


def _devices(rows: list[DeviceRow], branches: list[BranchEdit], csrf: str,
             new: DeviceOut | None, new_url: str) -> str:  # fmt: skip
    shown = ""
    if new is not None:
        shown = (
            '<div class="card" id="new-key" role="status"><p class="lead">'
            f"Key for {escape(new.label)}: copy it now, it is shown only once.</p>"
            f'<p class="code" id="new-key-text">{escape(new.device_key)}</p>'
            f'<p class="mute">Device secret (for the agent\'s config): '
            f'<code id="new-key-secret">{escape(new.device_secret)}</code></p>'
            f'<div class="qr">{qr_svg(new_url, size_px=200, label="Pairing QR of the new key")}'
            "</div></div>"
        )
    body = "".join(
        f'<tr data-device="{r.device.device_id}"><td>{escape(r.device.label)}</td>'
        f"<td>{escape(r.branch)}</td><td>{escape(r.last_seen)}</td>"
        + (
            f"<td>revoked {r.device.revoked_at.date().isoformat()}</td>"
            if r.device.revoked_at
            else f'<td><form method="post" action="/backoffice/keys/{r.device.device_id}/revoke">'
            f'{_hidden(csrf)}<button class="btn" type="submit" '
            f'aria-label="Revoke {escape(r.device.label)}">Revoke</button></form></td>'
        )
        + "</tr>"
        for r in rows
    )
    options = "".join(
        f'<option value="{b.branch.branch_id}">{escape(b.branch.name)}</option>' for b in branches
    )
    return (
        '<section class="card" id="keys" aria-labelledby="keys-h">'
        '<h2 id="keys-h">Staff and device keys</h2>' + shown
        + '<div class="scroll" tabindex="0" role="region" aria-label="Device keys, scrolls '
        'sideways"><table><caption class="mute">Device keys</caption><thead><tr><th scope="col">'
        'Name</th><th scope="col">Branch</th><th scope="col">Last activity</th>'
        f'<th scope="col">Key</th></tr></thead><tbody>{body}</tbody></table></div>'
        f'<form method="post" action="/backoffice/keys">{_hidden(csrf)}'
        '<p><label for="key-label">Name (staff login or till)</label><br>'
        '<input id="key-label" name="label" required maxlength="200" '
        'style="font:inherit;padding:6px;width:100%"></p>'
        '<p><label for="key-branch">Branch</label><br>'
        f'<select id="key-branch" name="branch_id" style="font:inherit;padding:6px">{options}'
        '</select></p><p><button class="btn" type="submit">Create key</button></p></form></section>'
    )  # fmt: skip


def _voucher(csrf: str, new: BatchOut | None, owner: str) -> str:
    made = ""
    if new is not None and new.codes:
        code = new.codes[0]
        where = (
            f"It is on the card of {escape(owner)} now."
            if owner
            else "Send this link to the customer (or show the QR):"
        )
        made = (
            f'<div class="card" id="voucher-made" role="status"><p class="lead">Voucher '
            f"{escape(display(code.code))} made. {where}</p>"
            + (
                ""
                if owner
                else f'<p class="code"><a id="voucher-link" href="{escape(code.url)}">'
                f"{escape(code.url)}</a></p>"
                f'<div class="qr">{qr_svg(code.url, size_px=180, label="Voucher QR")}</div>'
            )
            + "</div>"
        )
    return (
        '<section class="card" id="voucher" aria-labelledby="voucher-h">'
        '<h2 id="voucher-h">One voucher</h2>' + made
        + f'<form method="post" action="/backoffice/voucher">{_hidden(csrf)}'
        '<p><label for="v-customer">For (email, card number or name; empty: a link to send)'
        '</label><br><input id="v-customer" name="customer" maxlength="200" '
        'style="font:inherit;padding:6px;width:100%"></p>'
        '<p><label for="v-title">What it gives</label><br><input id="v-title" name="title" '
        'maxlength="80" value="A gift from us" required style="font:inherit;padding:6px;'
        'width:100%"></p><p><label for="v-days">Valid for days</label><br><input id="v-days" '
        'name="valid_days" type="number" min="1" max="3650" value="30" '
        'style="font:inherit;padding:6px"></p>'
        '<p><button class="btn" type="submit">Make voucher</button></p></form></section>'
    )  # fmt: skip


def _batches(batches: list[BatchOut], csrf: str, new: BatchOut | None) -> str:
    made = ""
    if new is not None:
        made = (
            f'<p class="lead" role="status" id="batch-made">Batch {new.batch_id} made: '
            f"{new.count} codes, first {escape(display(new.codes[0].code))}.</p>"
        )
    rows = "".join(
        f'<tr data-batch="{b.batch_id}"><td>{b.batch_id}</td><td>{escape(b.title)}</td>'
        f"<td>{f'{b.stamps} stamps' if b.kind == 'stamps' else 'voucher'}</td>"
        f"<td>{b.count}</td><td>{b.printed}</td><td>{b.claimed}</td><td>{b.redeemed}</td>"
        f"<td>{b.conversion * 100:.0f} %</td><td>{b.expires_at.date().isoformat()}</td>"
        f'<td><a href="/v1/vouchers/batch/{b.batch_id}.pdf" id="pdf-{b.batch_id}">PDF labels'
        f'</a> · <a href="/v1/vouchers/batch/{b.batch_id}.pdf?layout=flyers">PDF flyers</a> · '
        f'<a href="/v1/vouchers/batch/{b.batch_id}.csv">CSV</a> · '
        f'<a href="/v1/vouchers/batch/{b.batch_id}.escpos">receipt printer</a></td></tr>'
        for b in batches
    )
    return (
        '<section class="card" id="batches" aria-labelledby="batches-h">'  # noqa: S608 (HTML, not SQL)
        '<h2 id="batches-h">Vouchers and delivery inserts</h2>' + made
        + f'<form method="post" action="/backoffice/batches">{_hidden(csrf)}'  # noqa: S608
        '<p><label for="b-count">How many codes</label><br><input id="b-count" name="count" '
        'type="number" min="1" max="1000" value="30" required style="font:inherit;padding:6px">'
        '</p><p><label for="b-kind">Each code gives</label><br><select id="b-kind" name="kind" '
        'style="font:inherit;padding:6px"><option value="stamps">stamps (delivery insert)'
        '</option><option value="voucher">a voucher</option></select></p>'
        '<p><label for="b-stamps">Stamps per code</label><br><input id="b-stamps" name="stamps" '
        'type="number" min="1" max="50" value="1" style="font:inherit;padding:6px"></p>'
        '<p><label for="b-title">Title printed on each</label><br><input id="b-title" '
        'name="title" maxlength="80" value="A gift from us" style="font:inherit;padding:6px;'
        'width:100%"></p><p><label for="b-days">Valid for days</label><br><input id="b-days" '
        'name="valid_days" type="number" min="1" max="3650" value="30" '
        'style="font:inherit;padding:6px"></p>'
        '<p><button class="btn" type="submit">Make codes</button></p></form>'
        '<div class="scroll" tabindex="0" role="region" aria-label="Batches, scrolls sideways">'
        '<table><caption class="mute">Batches</caption><thead><tr><th scope="col">Batch</th>'
        '<th scope="col">Title</th><th scope="col">Gives</th><th scope="col">Codes</th>'
        '<th scope="col">Printed</th><th scope="col">Claimed</th><th scope="col">Redeemed</th>'
        '<th scope="col">Conversion</th><th scope="col">Use by</th><th scope="col">Download</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )  # fmt: skip


def render_backoffice(view: BackOfficeView) -> str:
    """The whole back-office page."""
    problem = (
        f'<p class="bad" role="alert" id="problem">{escape(view.problem)}</p>'
        if view.problem
        else ""
    )
    body = (
        f"<h1>{escape(view.business)}: back office</h1>"
        '<nav aria-label="Owner pages"><p><a href="/dashboard">Figures</a> · '
        f'<a href="/backoffice">Back office</a></p><form method="post" action="/backoffice/logout">'
        f'{_hidden(view.csrf)}<button class="btn" type="submit">Sign out</button></form></nav>'
        + problem
        + _plan(view.plan)
        + '<section aria-labelledby="programs-h"><h2 id="programs-h">Programs</h2>'
        + "".join(_program(b, view.csrf) for b in view.branches)
        + "</section>"
        + _devices(view.devices, view.branches, view.csrf, view.new_key, view.new_key_url)
        + _voucher(view.csrf, view.new_voucher, view.voucher_for)
        + _batches(view.batches, view.csrf, view.new_batch)
    )
    return page(f"{view.business}: back office", body, wide=True)
