# ruff: noqa: RUF001 - Ukrainian words are checked letter for letter
"""The back office's batch PDFs in the page's language: the catalogue's words, Polish and
Ukrainian letters drawn in the bundled DejaVu Sans (embedded), dates by locale, no English
left; the language chosen as the back office pages choose it."""

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sync.cloud.backoffice import codes
from sync.cloud.store import Store
from sync.web import code_pages
from tests.clock import Clock
from tests.fakes.escpos_printer import EPSON_CODE_PAGES, EscposParser, FakeReceipt
from tests.pages.languages import english_left
from tests.sync.cloud.conftest import Cloud, start_cloud
from tests.sync.cloud.pdf_codes import first_page_png, pdf_fonts, pdf_text, qr_texts

SHOP = "Kawiarnia Róża"
# A batch of inserts worth 3 stamps, valid 44 days from 2026-11-23: until 2027-01-06.
EXPECTED = {
    "de": ["Ein Geschenk von uns", "3 Stempel · gültig bis 06.01.2027",
           "Mit der Handykamera scannen", "oder den Code unter {site} eingeben"],
    "pl": ["Prezent od nas", "3 pieczątki · ważne do 6 sty 2027",
           "Zeskanuj aparatem telefonu", "lub wpisz kod na stronie {site}"],
    "uk": ["Подарунок від нас", "3 печатки · дійсно до 6 січ. 2027 р.",
           "Скануйте камерою телефона", "або введіть код на {site}"],
    "en": ["A gift from us", "3 stamps · use by Jan 6, 2027",
           "Scan with your phone camera,", "or type the code at {site}"],
}  # fmt: skip
FLYER_ONLY = 2  # the last two lines are on the A6 flyers, not on the labels


@pytest.fixture
async def shop(store: Store, clock: Clock) -> AsyncIterator[Cloud]:
    """The cloud app over the store under test, for a Polish café (the business's language:
    English, the default)."""
    rng = random.Random(7)
    http, link = await start_cloud(store, clock, rng, business=SHOP)
    try:
        yield Cloud(http, store, clock, link, rng)
    finally:
        await http.close()


async def _batch(shop: Cloud, lang: str, **body: Any) -> Any:
    """A batch of 3 made from a page in ``lang`` (no title: the catalogue's gift title)."""
    body = {"count": 3, "kind": "stamps", "stamps": 3, "valid_days": 44, **body}
    resp = await shop.http.post(f"/v1/vouchers/batch?lang={lang}", json=body, headers=shop.admin())
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _pdf(shop: Cloud, path: str, **headers: str) -> bytes:
    resp = await shop.http.get(path, headers={**shop.admin(), **headers})
    assert resp.status == 200 and resp.content_type == "application/pdf", await resp.text()
    return await resp.read()


@pytest.mark.parametrize("layout", ["labels", "flyers"])
@pytest.mark.parametrize("lang", ["de", "pl", "uk"])
async def test_given_a_language_when_a_batch_pdf_is_printed_then_its_words_are_in_that_language(
    shop: Cloud, tmp_path: Path, artifacts_dir: Path, lang: str, layout: str
) -> None:
    """Given a batch of inserts made in German, Polish or Ukrainian, when its PDF is
    downloaded in that language, then the text poppler extracts holds the catalogue's words
    letter for letter (ą, ż, ó, Cyrillic) with the date as that language writes it, the
    shop's name, no English, every font is the embedded DejaVu Sans, and the QRs still read."""
    batch = await _batch(shop, lang)
    pdf = await _pdf(
        shop, f"/v1/vouchers/batch/{batch['batch_id']}.pdf?layout={layout}&lang={lang}"
    )
    text = await asyncio.to_thread(pdf_text, pdf, tmp_path)
    site = batch["codes"][0]["url"].rsplit("/", 1)[0]
    wanted = EXPECTED[lang] if layout == "flyers" else EXPECTED[lang][:-FLYER_ONLY]
    for line in wanted:
        assert line.format(site=site) in text, (line, text)
    shown = [codes.display(c["code"]) for c in batch["codes"]]
    assert all(code in text for code in shown)
    if layout == "flyers":
        assert SHOP in text
    assert english_left(text, lang, (SHOP, site, *shown)) == []
    fonts = await asyncio.to_thread(pdf_fonts, pdf, tmp_path)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert {name.split("+")[-1] for name, _ in fonts} == {"DejaVuSans", "DejaVuSans-Bold"}
    read = await asyncio.to_thread(qr_texts, pdf, tmp_path / "qr")
    assert sorted(read) == sorted(c["url"] for c in batch["codes"])
    await asyncio.to_thread(first_page_png, pdf, artifacts_dir / f"batch-{layout}-{lang}.png")


async def test_given_no_language_asked_then_the_pdf_follows_the_browser_then_the_business(
    shop: Cloud, tmp_path: Path
) -> None:
    """Given a batch, when its PDF is downloaded with ``Accept-Language: uk``, then it is in
    Ukrainian; with the pages' language cookie ``pl``, Polish; with neither, in the business's
    language (English here)."""
    batch = await _batch(shop, "en")
    path = f"/v1/vouchers/batch/{batch['batch_id']}.pdf?layout=flyers"
    uk = await _pdf(shop, path, **{"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"})
    assert "Скануйте камерою телефона" in await asyncio.to_thread(pdf_text, uk, tmp_path)
    pl = await _pdf(shop, path, Cookie="stampedge_lang=pl")
    assert "Zeskanuj aparatem telefonu" in await asyncio.to_thread(pdf_text, pl, tmp_path)
    en = await asyncio.to_thread(pdf_text, await _pdf(shop, path), tmp_path)
    for line in EXPECTED["en"]:
        assert line.format(site=batch["codes"][0]["url"].rsplit("/", 1)[0]) in en


async def test_given_an_owners_polish_title_when_printed_then_its_letters_are_drawn(
    shop: Cloud, tmp_path: Path, artifacts_dir: Path
) -> None:
    """Given a voucher batch titled "Mały upominek dla Łucji" (ł, Ł), when its labels are
    printed in Polish, then the title comes back out of the PDF letter for letter and the
    voucher is called "kupon"."""
    batch = await _batch(shop, "pl", kind="voucher", title="Mały upominek dla Łucji")
    pdf = await _pdf(shop, f"/v1/vouchers/batch/{batch['batch_id']}.pdf?lang=pl")
    text = await asyncio.to_thread(pdf_text, pdf, tmp_path)
    assert "Mały upominek dla Łucji" in text
    assert "kupon · ważne do 6 sty 2027" in text


async def test_given_a_batch_made_in_a_language_without_a_title_then_the_gift_title_is_in_it(
    shop: Cloud,
) -> None:
    """Given batches made through the API from pages in Polish and Ukrainian naming no title,
    then each is titled "A gift from us" in that language (it is printed on every code), and
    a title the owner typed is kept as typed."""
    assert (await _batch(shop, "pl"))["title"] == "Prezent od nas"
    assert (await _batch(shop, "uk"))["title"] == "Подарунок від нас"
    assert (await _batch(shop, "uk", title="Free coffee"))["title"] == "Free coffee"


@pytest.mark.parametrize(("lang", "page"), [("de", 19), ("pl", 45), ("uk", 46)])
async def test_given_a_language_when_a_batch_is_printed_as_tickets_then_the_printer_reads_it(
    shop: Cloud, lang: str, page: int
) -> None:
    """Given a batch made in German, Polish or Ukrainian, when its ESC/POS tickets are
    downloaded in that language, then the job selects a page of that language (``ESC t``:
    CP858, CP1250, CP1251 as Epson numbers them: the pages that also hold the middle dot) and
    an Epson printer shows the catalogue's words letter for letter (``ż``, ``ó``, Cyrillic),
    the shop's name as the page can print it, not English or ``?``."""
    batch = await _batch(shop, lang)
    resp = await shop.http.get(
        f"/v1/vouchers/batch/{batch['batch_id']}.escpos?lang={lang}", headers=shop.admin()
    )
    assert resp.status == 200
    ticket = FakeReceipt(commands=EscposParser().feed(await resp.read()))
    assert ticket.code_page == page
    text, codec = ticket.text, EPSON_CODE_PAGES[page]
    shop_on_paper = code_pages.encode(SHOP, codec)[0].decode(codec)  # "Róża": ż only on pl's
    assert shop_on_paper in text and EXPECTED[lang][0] in text and EXPECTED[lang][1] in text
    assert "?" not in text and english_left(text, lang, (shop_on_paper,)) == [], text
