# ruff: noqa: RUF001 - Ukrainian receipts are checked letter for letter
"""Receipts in the branch's language: words from the catalogues, money and dates by locale, the
bytes in the code page that holds the language's letters, read back as the printer shows them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from config.agent import PrinterSettings
from printers.profile import capabilities
from printers.receipt import Receipt, build_escpos, receipt_warnings
from tests.fakes.escpos_printer import FakePrinterCore, FakeReceipt, TcpFakePrinter
from tests.printers.conftest import AgentFactory, place, printer_section, wait_job

ISSUED = datetime(2026, 12, 7, 21, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Warsaw"))


def _receipt(lang: str, **kw: object) -> Receipt:
    base: dict[str, object] = {
        "order_id": "A-17",
        "claim_url": "HTTP://CLOUD.EXAMPLE/C/ABCDEFGHJKMNPQRS",
        "stamps": 3,
        "total": Decimal("1234.50"),
        "currency": "EUR",
        "till": "till-1",
        "issued_at": ISSUED,
        "expires_at": ISSUED + timedelta(days=30),
        "lines": [],
        "language": lang,
    }
    base.update(kw)
    return Receipt.model_validate(base)


def _printed(data: bytes) -> FakeReceipt:
    core = FakePrinterCore()
    core.feed(core.connect(), data)
    return core.receipts[0]


# What a cashier reading each language finds on paper (letters outside ASCII on purpose).
EXPECTED = {
    "en": (19, ["Order A-17  (till-1)", "Total €1,234.50   3 stamps", "Scan for your stamps",
                "Valid until Jan 6, 2027", "12/7/26, 10:30\u202fPM"]),
    "de": (19, ["Bestellung A-17  (till-1)", "Summe 1.234,50\xa0€   3 Stempel",
                "Scannen für Ihre Stempel", "Gültig bis 06.01.2027", "07.12.26, 22:30"]),
    "pl": (45, ["Zamówienie A-17  (till-1)", "Razem 1\xa0234,50\xa0€   3 pieczątki",
                "Zeskanuj po pieczątki", "Ważne do 6 sty 2027", "7.12.2026, 22:30"]),
    "uk": (46, ["Замовлення A-17  (till-1)", "Разом 1\xa0234,50\xa0EUR   3 печатки",
                "Скануйте, щоб отримати печатки", "Дійсно до 6 січ. 2027 р."]),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_given_branch_language_when_receipt_built_then_printer_shows_it_in_its_code_page(
    lang: str,
) -> None:
    """Given a TM-T20II and a branch speaking ``lang`` selling in euros, when a receipt is
    built, then the job selects the page holding the language's letters and the euro sign
    (ESC t), and the text read back in that page is the catalogue's, with money and dates as
    that language writes them."""
    settings = PrinterSettings(profile="TM-T20II")
    caps = capabilities(settings)
    receipt = _receipt(lang)
    printed = _printed(build_escpos(receipt, settings, caps))
    page, lines = EXPECTED[lang]
    assert printed.code_page == page
    # NBSPs and narrow NBSPs exist in the pages used, or print as plain spaces
    text = printed.text.replace("\xa0", " ").replace("\u202f", " ")
    for line in lines:
        assert line.replace("\xa0", " ").replace("\u202f", " ") in text, (line, text)
    assert receipt_warnings(receipt, settings, caps) == []


def test_given_printer_without_cyrillic_when_ukrainian_receipt_then_latin_and_a_warning() -> None:
    """Given a TM-U220 (CP437 only), when a Ukrainian receipt is built, then its words print in
    Latin letters (not question marks) and the job's warnings name the replaced letters."""
    settings = PrinterSettings(profile="TM-U220")
    caps = capabilities(settings)
    receipt = _receipt("uk")
    printed = _printed(build_escpos(receipt, settings, caps))
    assert printed.code_page == 0
    assert "Zamovlennia A-17" in printed.text
    assert "Razom" in printed.text and "?" not in printed.text.replace("?", "", 0)
    [warning] = receipt_warnings(receipt, settings, caps)
    assert warning.startswith("CP437 cannot print ") and "З" in warning


def test_given_printer_without_polish_page_when_polish_receipt_then_accents_dropped() -> None:
    """Given a CP437-only printer, when a Polish receipt is built, then "Zamówienie" keeps its
    ó (CP437 has it) and "Ważne" prints as "Wazne", listed in the warnings."""
    settings = PrinterSettings(profile="TM-U220")
    caps = capabilities(settings)
    receipt = _receipt("pl")
    text = _printed(build_escpos(receipt, settings, caps)).text
    assert "Zamówienie A-17" in text and "Wazne do 6 sty 2027" in text
    assert "ż" in receipt_warnings(receipt, settings, caps)[0]


async def test_given_ukrainian_branch_when_pos_posts_order_then_job_warns_and_prints_latin(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    """Given an agent with ``language = "uk"`` and a CP437-only printer model, when the POS posts
    a check, then the fake printer's bytes read in Latin letters and GET /v1/print/{job_id}
    lists what was replaced."""
    client = await make_agent(
        agent={"language": "uk"}, printer=printer_section(printer, profile="TM-U220")
    )
    answer = await place(client, "U-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "confirmed", job
    [receipt] = await printer.wait_receipts(1)
    assert receipt.code_page == 0
    assert "Zamovlennia U-1" in receipt.text
    assert "Skanuite, shchob otrymaty pechatky" in receipt.text
    resp = await client.get(f"/v1/print/{job['job_id']}")
    body = await resp.json()
    assert resp.status == 200 and body["warnings"], body
    assert "CP437 cannot print" in body["warnings"][0]


async def test_given_polish_branch_when_pos_posts_order_then_polish_receipt_without_warnings(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    """Given ``language = "pl"`` and a TM-T20II, when a check in złoty is posted, then the
    receipt is printed in CP852 (ESC t 18) in Polish and the job has no warnings."""
    client = await make_agent(
        agent={"language": "pl"}, program={"currency": "PLN"}, printer=printer_section(printer)
    )
    answer = await place(client, "P-1", total="23.50")
    job = await wait_job(client, answer["print"]["job_id"])
    [receipt] = await printer.wait_receipts(1)
    assert receipt.code_page == 18
    assert "Zamówienie P-1" in receipt.text and "Zeskanuj po pieczątki" in receipt.text
    assert "Ważne do" in receipt.text and "Razem 23,50 zł" in receipt.text.replace("\xa0", " ")
    assert job["warnings"] == []
