"""The owner's back office pages (signed in with the admin key, like ``/dashboard``):
``GET /backoffice`` and its forms: the program editor (validated by the API's own
``ProgramConfig``, with a worked example before saving), device keys (made, shown once with a
pairing QR, revoked), voucher and insert batches, and sign-out. Every form carries a CSRF token
and is refused from another origin (``sync.cloud.http.check_form_token``, as the dashboard's)."""

from decimal import Decimal
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from sync.cloud.backoffice.models import BatchIn, VoucherIn, gift_titled
from sync.cloud.errors import StoreError
from sync.cloud.http import (
    ADMIN_COOKIE,
    EVERYWHERE_FIELD,
    FORM_TOKEN_FIELD,
    RNG,
    SETTINGS,
    STORE,
    check_form_token,
    now,
    sign_out,
    signed_in_form,
)
from sync.cloud.models import BranchOut, DeviceOut, ProgramConfig
from sync.cloud.page_language import customer_language, html_page
from sync.cloud.store import Principal
from sync.cloud.ui.backoffice import (
    EXAMPLE_TOTAL,
    PROGRAM_LABELS,
    BackOfficeView,
    BranchEdit,
    DeviceRow,
    render_backoffice,
)
from sync.cloud.ui.form_errors import form_errors
from sync.cloud.ui.layout import page
from sync.contract.customers import CustomerRef
from sync.contract.program import stamps_for
from sync.web.http_util import read_form
from sync.web.locale_format import moment, money
from sync.web.texts import plural, t

_OPTIONAL = ("min_total", "max_stamps_per_order", "lottery_budget", "voucher_valid_days")
_EDITED = (
    "rule", "step", "stamps_per_order", "min_total", "max_stamps_per_order", "goal", "currency",
    "reward", "reward_name", "voucher_valid_days", "activation_delay_hours", "lottery_budget",
)  # fmt: skip


# the batch and voucher forms' fields and their labels' catalogue keys (for their errors)
_BATCH_LABELS = {"count": "bo.batch.count", "kind": "bo.batch.kind", "stamps": "bo.batch.per_code",
                 "title": "bo.batch.title", "valid_days": "bo.valid_days"}  # fmt: skip
_VOUCHER_LABELS = {"customer": "bo.voucher.for", "title": "bo.voucher.gives",
                   "valid_days": "bo.valid_days"}  # fmt: skip


def _first_error(err: ValidationError, label_keys: dict[str, str], lang: str) -> str:
    """A refused form's first error as a sentence in ``lang``."""
    labels = {name: t(key, lang) for name, key in label_keys.items()}
    return next(iter(form_errors(err, labels, lang).values()))


def _html(text: str, status: int = 200) -> web.Response:
    resp = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _signed_out() -> web.Response:
    body = (
        '<section class="card"><h1>Please sign in</h1><p>The back office needs the admin key.</p>'
        '<p><a class="btn" href="/dashboard">Sign in</a></p></section>'
    )
    return _html(page("Sign in", body), 401)


def example(program: ProgramConfig, lang: str = "en") -> str:
    """The worked example shown before saving: what a EUR 23.50 check earns."""
    n = stamps_for(program.rules(), Decimal(EXAMPLE_TOTAL))
    total = money(Decimal(EXAMPLE_TOTAL), program.currency, lang)
    return plural("bo.example", n, lang, total=total)


def _values(program: ProgramConfig) -> dict[str, str]:
    dumped = program.model_dump(mode="json")
    return {k: "" if dumped.get(k) is None else str(dumped[k]) for k in _EDITED}


def _edit(branch: BranchOut, lang: str, note: str = "") -> BranchEdit:
    return BranchEdit(branch, _values(branch.program), example(branch.program, lang), note=note)


async def _view(
    request: web.Request, who: Principal, token: str, **extra: object
) -> BackOfficeView:
    store, at = request.app[STORE], now(request)
    lang = customer_language(request)
    branches = await store.branches(who.business_id)
    edits: list[BranchEdit] = extra.pop("edits", None) or [  # type: ignore[assignment]
        _edit(b, lang, t("bo.saved", lang) if request.query.get("saved") == str(b.branch_id)
              else "")
        for b in branches
    ]  # fmt: skip
    zones = {b.branch_id: (b.name, b.timezone) for b in branches}
    seen = await store.devices_last_seen(who.business_id)
    rows = []
    for d in await store.devices(who.business_id):
        name, tz = zones.get(d.branch_id, ("?", "UTC"))
        last = seen.get(d.device_id)
        shown = moment(last, lang, tz) if last else t("bo.never", lang)
        rows.append(DeviceRow(d, name, shown))
    public = request.app[SETTINGS].cloud.public_url
    batches = await store.batches(who.business_id, at, public)
    new_batch = None
    wanted = request.query.get("batch", "")
    if wanted.isdigit() and len(wanted) < 18:
        new_batch = await store.batch(who.business_id, int(wanted), at, public)
    return BackOfficeView(
        business=await store.business_name(who.business_id), csrf=token,
        plan=await store.plan_usage(who.business_id, at), branches=edits, devices=rows,
        batches=batches, new_batch=new_batch, lang=lang, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


async def backoffice(request: web.Request) -> web.Response:
    """``GET /backoffice``."""
    signed = await signed_in_form(request)
    if signed is None:
        return _signed_out()
    view = await _view(request, *signed)
    resp = html_page(request, render_backoffice(view), view.lang)  # keeps a ?lang= choice
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def _form(request: web.Request) -> tuple[Principal, str, dict[str, str]] | None:
    signed = await signed_in_form(request)
    if signed is None:
        return None
    form = await read_form(request)
    check_form_token(request, signed[1], form.get(FORM_TOKEN_FIELD, ""))
    return signed[0], signed[1], form


def _see_other(location: str) -> web.Response:
    raise web.HTTPSeeOther(location)


async def post_program(request: web.Request) -> web.Response:
    """``POST /backoffice/program/{id}``: preview the example, or save the program."""
    got = await _form(request)
    if got is None:
        return _signed_out()
    who, token, form = got
    store = request.app[STORE]
    raw = request.match_info["id"]
    lang = customer_language(request)
    branches = await store.branches(who.business_id)
    branch = next((b for b in branches if str(b.branch_id) == raw), None)
    if branch is None:
        view = await _view(request, who, token, problem=t("bo.no_branch", lang))
        return _html(render_backoffice(view), 404)
    data = branch.program.model_dump(mode="json")
    for name in _EDITED:
        text = form.get(name, "").strip()
        if text:
            data[name] = text
        elif name in _OPTIONAL:
            data[name] = None
    typed = {k: form.get(k, "").strip() for k in _EDITED}
    try:
        program = ProgramConfig.model_validate(data)
    except ValidationError as err:
        labels = {name: t(key, lang) for name, key in PROGRAM_LABELS.items()}
        errors = form_errors(err, labels, lang)
        edit = BranchEdit(branch, typed, t("bo.fix_fields", lang),
                          errors={**errors, "": t("bo.not_saved", lang)})  # fmt: skip
        edits = [edit if b.branch_id == branch.branch_id else _edit(b, lang) for b in branches]
        return _html(render_backoffice(await _view(request, who, token, edits=edits)), 422)
    if form.get("action") == "preview":
        edit = BranchEdit(branch, typed, example(program, lang),
                          note=t("bo.not_saved_yet", lang))  # fmt: skip
        edits = [edit if b.branch_id == branch.branch_id else _edit(b, lang) for b in branches]
        return _html(render_backoffice(await _view(request, who, token, edits=edits)))
    await store.set_program(who.business_id, branch.branch_id, program)
    return _see_other(f"/backoffice?saved={branch.branch_id}#program-{branch.branch_id}")


def pairing_url(public_url: str, key: DeviceOut) -> str:
    """What the new key's QR holds: the cloud, the key and its secret, for an agent or tablet."""
    query = urlencode({"cloud": public_url, "key": key.device_key, "secret": key.device_secret})
    return f"stampedge://pair?{query}"


async def post_key(request: web.Request) -> web.Response:
    """``POST /backoffice/keys``: a new device key, shown this once with its pairing QR."""
    got = await _form(request)
    if got is None:
        return _signed_out()
    who, token, form = got
    label = form.get("label", "").strip()
    branch = form.get("branch_id", "")
    if not label or len(label) > 200 or not branch.isdigit() or len(branch) > 18:
        problem = t("bo.key.missing", customer_language(request))
        view = await _view(request, who, token, problem=problem)
        return _html(render_backoffice(view), 422)
    store = request.app[STORE]
    try:
        made = await store.create_device(who.business_id, int(branch), label, now(request))
    except StoreError as err:
        return _html(render_backoffice(await _view(request, who, token, problem=err.message)),
                     err.status)  # fmt: skip
    url = pairing_url(request.app[SETTINGS].cloud.public_url, made)
    return _html(render_backoffice(await _view(request, who, token, new_key=made,
                                               new_key_url=url)))  # fmt: skip


async def post_revoke(request: web.Request) -> web.Response:
    """``POST /backoffice/keys/{id}/revoke``."""
    got = await _form(request)
    if got is None:
        return _signed_out()
    who, token, _ = got
    raw = request.match_info["id"]
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise StoreError("no such device", code="not_found")
        await request.app[STORE].revoke_device(who.business_id, int(raw), now(request))
    except StoreError as err:
        view = await _view(request, who, token, problem=err.message)
        return _html(render_backoffice(view), 404)
    return _see_other("/backoffice#keys")


async def post_batch(request: web.Request) -> web.Response:
    """``POST /backoffice/batches``: make a batch (the API's model and plan checks)."""
    got = await _form(request)
    if got is None:
        return _signed_out()
    who, token, form = got
    fields = {k: form[k] for k in ("count", "kind", "stamps", "title", "valid_days") if form.get(k)}
    try:
        body = gift_titled(BatchIn.model_validate(fields), customer_language(request))
        out = await request.app[STORE].create_batch(
            who, body, now(request), request.app[SETTINGS].cloud.public_url
        )
    except ValidationError as err:
        text = _first_error(err, _BATCH_LABELS, customer_language(request))
        return _html(render_backoffice(await _view(request, who, token, problem=text)), 422)
    except StoreError as err:
        return _html(render_backoffice(await _view(request, who, token, problem=err.message)),
                     err.status)  # fmt: skip
    return _see_other(f"/backoffice?batch={out.batch_id}#batches")


async def post_voucher(request: web.Request) -> web.Response:
    """``POST /backoffice/voucher``: one voucher, on the card of the one customer the text
    finds (email, number, card code or name), or a link to send."""
    got = await _form(request)
    if got is None:
        return _signed_out()
    who, token, form = got
    store, at = request.app[STORE], now(request)
    wanted = form.get("customer", "").strip()
    ref, owner = None, ""
    if wanted:
        found = await store.find_customers(who, wanted[:200]) if len(wanted) <= 200 else []
        if len(found) != 1:
            lang = customer_language(request)
            text = (
                t("bo.customer.none", lang, wanted=wanted) if not found
                else t("bo.customer.many", lang, n=len(found), wanted=wanted)
            )  # fmt: skip
            return _html(render_backoffice(await _view(request, who, token, problem=text)), 422)
        ref = CustomerRef(card=found[0].card_code)
        owner = found[0].name or found[0].email or found[0].number
    try:
        body = gift_titled(
            VoucherIn.model_validate(
                {k: form[k] for k in ("title", "valid_days") if form.get(k)} | {"customer": ref}
            ),
            customer_language(request),
        )
        out, _ = await store.create_voucher(
            who, body, at, request.app[SETTINGS].cloud.public_url, request.app[RNG]
        )
    except ValidationError as err:
        text = _first_error(err, _VOUCHER_LABELS, customer_language(request))
        return _html(render_backoffice(await _view(request, who, token, problem=text)), 422)
    except StoreError as err:
        return _html(render_backoffice(await _view(request, who, token, problem=err.message)),
                     err.status)  # fmt: skip
    view = await _view(request, who, token, new_voucher=out, voucher_for=owner)
    return _html(render_backoffice(view), 201)


async def post_logout(request: web.Request) -> web.Response:
    """``POST /backoffice/logout``: end this browser's session on the server, or with
    ``everywhere=1`` every session of the business (``http.sign_out``)."""
    got = await _form(request)
    if got is None:  # no session to end: only the cookie goes
        resp = web.HTTPSeeOther("/dashboard")
        resp.del_cookie(ADMIN_COOKIE, path="/")
        raise resp
    raise await sign_out(request, everywhere=got[2].get(EVERYWHERE_FIELD) == "1")


def add_backoffice_pages(app: web.Application) -> None:
    """The back-office pages and their forms."""
    r = app.router
    r.add_get("/backoffice", backoffice)
    r.add_post("/backoffice/program/{id}", post_program)
    r.add_post("/backoffice/keys", post_key)
    r.add_post("/backoffice/keys/{id}/revoke", post_revoke)
    r.add_post("/backoffice/batches", post_batch)
    r.add_post("/backoffice/voucher", post_voucher)
    r.add_post("/backoffice/logout", post_logout)
