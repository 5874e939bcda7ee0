"""Every page and receipt rendered in each language: no English left in a translated one, and
in Chromium (German and Ukrainian, 320 px and 1280 px) readable, accessible and photographed."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from agent.http.status_page import render_login_page
from agent.pages.html import render_pair_page
from agent.pages.kiosk_page import render_kiosk_page
from agent.pages.staff_page import render_staff_page
from config.agent import PrinterSettings
from printers.profile import capabilities
from printers.receipt import Receipt, build_escpos
from sync.cloud.backoffice.models import BatchOut, CodeOut, PlanOut
from sync.cloud.backoffice.pages import example
from sync.cloud.mail.messages import sign_in_mail
from sync.cloud.models import BranchOut, DeviceState, ProgramConfig
from sync.cloud.pages_http import _login_page
from sync.cloud.ui.backoffice import BackOfficeView, BranchEdit, DeviceRow, render_backoffice
from sync.cloud.ui.card_page import CardView, VoucherView, render_card
from sync.cloud.ui.claim_page import (
    PROBLEM_TEXTS,
    ClaimView,
    RewardView,
    render_claim_done,
    render_claim_offer,
    render_claim_problem,
)
from sync.cloud.ui.dashboard import DashboardView, DayFigures, render_dashboard
from sync.cloud.ui.identity_page import (
    consent_form,
    email_form,
    render_bad_email,
    render_link_sent,
    render_sign_in,
    render_sign_in_problem,
    render_unsubscribe,
)
from sync.web.texts import t
from tests.agent.conftest import AgentFactory
from tests.fakes.escpos_printer import FakePrinterCore, TcpFakePrinter
from tests.pages.a11y import check_accessibility
from tests.pages.camera import axe_violations
from tests.pages.languages import english_left, readable_text
from tests.printers.conftest import printer_section, wait_job

TRANSLATED = ("de", "pl", "uk")
STATIC = Path(__file__).resolve().parents[2] / "agent" / "pages" / "static"
# Names in the data (a shop, products, devices): the same in every language.
NAMES = ("Kawiarnia Róża", "Latte", "Cinnamon roll", "Main St", "till-1", "till-2", "A-17",
         "Europe/Warsaw", "Apple Wallet", "Google Wallet", "Stampedge", "QR",
         "ana@example.com", "https://cards.example/signin/T0K3N",
         "https://cards.example/unsubscribe/SE-7K2Q/email/5ig")  # fmt: skip


def _claim(lang: str) -> str:
    rewards = [
        RewardView(kind="voucher", name="Latte", code="V7K2-9QX4", valid_until=date(2027, 1, 31)),
        RewardView(kind="gift", name="Cinnamon roll"),
        RewardView(kind="lottery", name="Latte", lottery_outcome="extra_try"),
    ]
    view = ClaimView(stamps_added=12, balance=2, goal=10, rewards=rewards, more_rewards=2,
                     card_url="/card/X/Y", business="Kawiarnia Róża",
                     apple_wallet_url="/a", google_wallet_url="/g")  # fmt: skip
    return render_claim_done(
        view, lang, extra=email_form("/card/email", have_card=False, lang=lang)
    )


def _card(lang: str) -> str:
    vouchers = [
        VoucherView(name="Latte", code="V7K2-9QX4", state="active", valid_until=date(2027, 1, 31)),
        VoucherView(name="Latte", code="W8K2-9QX4", state="issued"),
        VoucherView(name="Latte", code="X9K2-9QX4", state="redeemed"),
        VoucherView(name="Latte", code="Y1K2-9QX4", state="expired"),
    ]
    view = CardView(card_code="SE-7K2Q", number="104233", balance=3, goal=10,
                    vouchers=vouchers, business="Kawiarnia Róża",
                    apple_wallet_url="/a", google_wallet_url="/g")  # fmt: skip
    extra = email_form("/card/email", have_card=False, lang=lang) + consent_form(
        "ana@example.com", {"email": True, "wallet": False}, lang, saved=True
    )
    return render_card(view, lang, extra=extra)


def _card_new(lang: str) -> str:
    """A card whose owner gave no email yet: "I have a card already", email offers locked."""
    view = CardView(card_code="SE-7K2Q", number="104233", balance=3, goal=10, vouchers=[],
                    business="Kawiarnia Róża")  # fmt: skip
    extra = email_form("/card/email", have_card=True, lang=lang) + consent_form(None, {}, lang)
    return render_card(view, lang, extra=extra)


def _day(d: int) -> DayFigures:
    return DayFigures(day=f"2026-12-{d:02}", branch="Main St", device=f"till-{d % 2 + 1}",
                      orders=10 * d, stamps=12 * d, claims_issued=5 * d, claims_claimed=3 * d,
                      rewards_issued=d, rewards_redeemed=d - 1)  # fmt: skip


def _dashboard(lang: str) -> str:
    rows = [
        DayFigures(
            day=f"2026-12-{d:02}",
            branch="Main St",
            device=f"till-{d % 2 + 1}",
            orders=10 * d,
            stamps=12 * d,
            claims_issued=5 * d,
            claims_claimed=3 * d,
            rewards_issued=d,
            rewards_redeemed=d - 1,
        )
        for d in range(1, 8)
    ]
    plan = t("dash.plan", lang, plan="free", used="14", limit="100", month="12.2026")
    view = DashboardView(business="Kawiarnia Róża", period="1-7", rows=rows,
                         alerts={"Main St": (2, 1)}, zones={"Main St": "Europe/Warsaw"},
                         plan=plan, csrf="tok", lang=lang)  # fmt: skip
    return render_dashboard(view)


def _receipt(lang: str) -> str:
    receipt = Receipt(order_id="A-17", claim_url="HTTP://X.EXAMPLE/C/ABCDEFGH", stamps=3,
                      total=Decimal("12.50"), currency="EUR", till="till-1",
                      issued_at=datetime(2026, 12, 7, 21, tzinfo=UTC),
                      expires_at=datetime(2027, 1, 6, 21, tzinfo=UTC), language=lang,
                      lines=[])  # fmt: skip
    settings = PrinterSettings(profile="TM-T20II")
    core = FakePrinterCore()
    core.feed(core.connect(), build_escpos(receipt, settings, capabilities(settings)))
    return core.receipts[0].text


def _problem(problem: Any, lang: str) -> str:
    return render_claim_problem(problem, lang, "/card")


def _staff(can_redeem: bool, lang: str) -> str:
    return render_staff_page(device_name="till-1", tills=["till-1"], can_redeem=can_redeem,
                             lang=lang)  # fmt: skip


def _backoffice(lang: str) -> str:
    at = datetime(2026, 12, 7, 12, tzinfo=UTC)
    branch = BranchOut(branch_id=1, business_id=1, name="Main St", timezone="Europe/Warsaw",
                       program=ProgramConfig(), program_version=3)  # fmt: skip
    edit = BranchEdit(branch, {"rule": "by_amount", "step": "10"},
                      example(branch.program, lang), errors={"": t("bo.not_saved", lang)},
                      note=t("bo.not_saved_yet", lang))  # fmt: skip
    codes = [CodeOut(code="AB3DE7GH9K", url="https://x.example/I/AB3DE7GH9K", state="open")]
    batch = BatchOut(batch_id=4, branch_id=1, kind="stamps", stamps=2, title="Latte", count=30,
                     created_at=at, expires_at=at, printed=30, claimed=3, redeemed=1,
                     conversion=0.1, codes=codes)  # fmt: skip
    plan = PlanOut(plan="free", month="2026-12", timezone="Europe/Warsaw", ops_limit=100,
                   ops_used=104, over_by=4, seats_limit=1, seats_used=1)  # fmt: skip
    devices = [
        DeviceRow(DeviceState(device_id=1, branch_id=1, label="till-1"), "Main St", "-"),
        DeviceRow(DeviceState(device_id=2, branch_id=1, label="till-2", revoked_at=at), "Main St",
                  t("bo.never", lang)),
    ]  # fmt: skip
    view = BackOfficeView(business="Kawiarnia Róża", csrf="tok", plan=plan, branches=[edit],
                          devices=devices, batches=[batch], new_batch=batch, new_voucher=batch,
                          problem=t("bo.key.missing", lang), lang=lang)  # fmt: skip
    return render_backoffice(view)


PAGES: dict[str, Any] = {
    "claim": _claim,
    "claim-offer": lambda lang: render_claim_offer(
        3, "/c/X", lang, extra=email_form("/c/X/email", have_card=True, lang=lang)
    ),
    **{f"problem-{p}": partial(_problem, p) for p in PROBLEM_TEXTS},
    "card": _card,
    "card-no-email": _card_new,
    "link-sent": lambda lang: render_link_sent(15, "/card", lang=lang),
    "bad-email": lambda lang: render_bad_email("/card", lang=lang),
    "sign-in": lambda lang: render_sign_in("/signin/T0K3N", lang=lang),
    **{f"sign-in-{p}": partial(render_sign_in_problem, p) for p in ("used", "expired", "invalid")},
    **{
        f"unsubscribe-{c}{'-done' if done else ''}": partial(
            render_unsubscribe, "/unsubscribe/X/c/s", c, done
        )
        for c in ("email", "wallet")
        for done in (False, True)
    },
    "kiosk": lambda lang: render_kiosk_page(device_name="till-1", lang=lang),
    "staff": lambda lang: render_staff_page(
        device_name="till-1", tills=["till-1"], can_redeem=True, lang=lang
    ),
    "staff-no-redeem": lambda lang: render_staff_page(
        device_name="till-1", tills=[], can_redeem=False, lang=lang
    ),
    "pair": lambda lang: render_pair_page(problem=t("pair.wrong_code", lang), lang=lang),
    "dashboard": _dashboard,
    "login": lambda lang: _login_page(failed=True, lang=lang),
    "backoffice": _backoffice,
}


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("lang", TRANSLATED)
def test_given_a_translated_language_when_a_page_renders_then_no_english_is_left(
    lang: str, name: str
) -> None:
    """Given a page rendered in German, Polish or Ukrainian, then none of the catalogue's
    English sentences nor common English words are left in what a person reads or hears
    (texts, labels, the script's sentences), and the page says which language it is in."""
    html = PAGES[name](lang)
    assert english_left(html, lang, NAMES) == []
    if "<html" in html:
        assert f'<html lang="{lang}">' in html


@pytest.mark.parametrize("lang", TRANSLATED)
def test_given_a_translated_language_when_a_receipt_prints_then_no_english_is_left(
    lang: str,
) -> None:
    """Given a receipt in German, Polish or Ukrainian, when the fake printer reads it back in
    its code page, then no English is on the paper."""
    assert english_left(_receipt(lang), lang, NAMES) == []


@pytest.mark.parametrize("purpose", ["attach", "claim"])
@pytest.mark.parametrize("lang", TRANSLATED)
def test_given_a_translated_language_when_a_sign_in_mail_is_written_then_no_english_is_left(
    lang: str, purpose: Any
) -> None:
    """Given a sign-in link mailed in German, Polish or Ukrainian (with the "no more offers"
    footer), then its subject and body carry no English, and the link, the minutes and the
    shop's name are in it."""
    mail = sign_in_mail(
        to_addr="ana@example.com", business="Kawiarnia Róża", purpose=purpose,
        link="https://cards.example/signin/T0K3N", minutes=15,
        unsubscribe_url="https://cards.example/unsubscribe/SE-7K2Q/email/5ig", customer_id=1,
        lang=lang,
    )  # fmt: skip
    for text in (mail.subject, mail.body):
        assert english_left(text, lang, NAMES) == []
    assert "Kawiarnia Róża" in mail.subject
    assert "https://cards.example/signin/T0K3N" in mail.body and "15" in mail.body
    assert "https://cards.example/unsubscribe/SE-7K2Q/email/5ig" in mail.body
    assert mail.body != sign_in_mail(
        to_addr="ana@example.com", business="Kawiarnia Róża", purpose=purpose,
        link="https://cards.example/signin/T0K3N", minutes=15,
        unsubscribe_url="https://cards.example/unsubscribe/SE-7K2Q/email/5ig", customer_id=1,
    ).body  # fmt: skip


def test_given_english_pages_then_the_detector_finds_english() -> None:
    """The detector itself: an English page passed off as German is caught."""
    assert "Collect my stamps" in english_left(render_claim_offer(3, "/c/X", "en"), "de")
    assert english_left(_receipt("en"), "pl")
    assert "Skanuj" not in readable_text(_claim("uk"))


SHOWN = ("claim", "card", "dashboard", "problem-expired", "kiosk", "staff", "backoffice")


@pytest.mark.parametrize("lang", ("de", "uk"))
async def test_given_two_languages_when_pages_open_in_chromium_then_readable_and_accessible(
    browser: Any, artifacts_dir: Path, lang: str
) -> None:
    """Given German and Ukrainian (longer words, another script), when the claim, card,
    dashboard, problem, kiosk, staff and back-office pages open at 320 px (the back office,
    an owner's page, at 360 px) and 1280 px, then nothing scrolls sideways, every control has
    a name, contrast holds, axe-core finds nothing serious, and a screenshot of each is
    saved."""
    page = await browser.new_page()
    for name in SHOWN:
        for width in (360 if name == "backoffice" else 320, 1280):
            await page.set_viewport_size({"width": width, "height": 900})
            await page.set_content(PAGES[name](lang))
            if name in ("kiosk", "staff"):  # their stylesheet is a file the agent serves
                await page.add_style_tag(path=str(STATIC / "pages.css"))
            await check_accessibility(page)
            assert await axe_violations(page) == [], (name, width)
            path = artifacts_dir / f"i18n-{name}-{lang}-{width}.png"
            await page.screenshot(path=str(path), full_page=True)
    await page.close()


@pytest.fixture
async def printer() -> AsyncIterator[TcpFakePrinter]:
    """A fake network receipt printer on a free port."""
    p = await TcpFakePrinter().start()
    yield p
    await p.stop()


@pytest.mark.parametrize("lang", TRANSLATED)
async def test_given_a_branch_language_when_the_status_page_opens_then_all_of_it_speaks_it(
    make_agent: AgentFactory,
    printer: TcpFakePrinter,
    browser: Any,
    artifacts_dir: Path,
    lang: str,
) -> None:
    """Given an agent with ``agent.language`` set, a check printed and one that failed for
    paper and a pairing code open, when the cashier opens the status page (and its sign-in
    page), then no English is left in them; in German and Ukrainian at 320 and 1280 px axe-core
    finds nothing serious, and screenshots are saved."""
    agent = await make_agent(
        agent={"branch_timezone": "Europe/Warsaw", "language": lang},
        printer=printer_section(printer),
    )
    first = await (await agent.post("/v1/orders", json={"order_id": "A-17", "total": "20",
                                                        "till": "till-1"})).json()  # fmt: skip
    await wait_job(agent, first["print"]["job_id"])
    printer.mode = "paper_out"
    second = await (await agent.post("/v1/orders", json={"order_id": "A-18", "total": "25"})).json()
    await wait_job(agent, second["print"]["job_id"], ("failed",))
    resp = await agent.post("/pairing/code", data={"role": "kiosk"}, allow_redirects=False)
    assert resp.status in (200, 303), await resp.text()
    html = await (await agent.get("/")).text()
    database = html.split("<code>", 1)[1].split("</code>", 1)[0]  # a path, not words
    allowed = (*NAMES, "A-18", "/kiosk", "/staff", "/pair", database)
    left = english_left(html, lang, allowed)
    assert left == [], [ln for ln in readable_text(html).splitlines() if any(w in ln for w in left)]
    assert f'<html lang="{lang}">' in html
    assert english_left(render_login_page(failed=True, lang=lang), lang, NAMES) == []
    if lang == "pl":
        return
    ctx = await browser.new_context(bypass_csp=True)
    page = await ctx.new_page()
    for width in (320, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(str(agent.make_url("/")))
        await check_accessibility(page)
        assert await axe_violations(page) == [], width
        await page.screenshot(
            path=str(artifacts_dir / f"i18n-status-{lang}-{width}.png"), full_page=True
        )
    await ctx.close()
