"""The back office's API on both backends: batches of delivery inserts and vouchers, their
print files (PDF rendered and every QR read back, CSV, ESC/POS), codes claimed once like a
receipt QR, and each batch's printed, claimed and redeemed counts."""

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import Any

from sync.cloud.backoffice import codes
from tests.sync.cloud.conftest import Cloud
from tests.sync.cloud.pdf_codes import qr_texts


async def _batch(cloud: Cloud, **body: Any) -> Any:
    resp = await cloud.http.post("/v1/vouchers/batch", json=body, headers=cloud.admin())
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _claim(cloud: Cloud, code: str, card_code: str | None = None) -> Any:
    body = {"card_code": card_code} if card_code else None
    return await cloud.http.post(f"/v1/inserts/{code}", json=body)


async def test_a_batch_of_30_inserts_prints_30_distinct_working_codes(
    cloud: Cloud, tmp_path: Path
) -> None:
    """Given a batch of 30 inserts worth 3 stamps, when its PDF is rendered and every QR read,
    then 30 distinct claim URLs come back, each naming one of the batch's codes."""
    batch = await _batch(cloud, count=30, kind="stamps", stamps=3, title="Thanks!", valid_days=60)
    made = {c["code"] for c in batch["codes"]}
    assert len(made) == 30 and batch["count"] == 30 and batch["printed"] == 0
    for layout, pages in (("labels", 2), ("flyers", 30)):
        resp = await cloud.http.get(
            f"/v1/vouchers/batch/{batch['batch_id']}.pdf?layout={layout}", headers=cloud.admin()
        )
        assert resp.status == 200 and resp.content_type == "application/pdf"
        pdf = await resp.read()
        folder = tmp_path / layout
        read = await asyncio.to_thread(qr_texts, pdf, folder)
        assert len(list(folder.glob("page*.png"))) == pages
        assert len(read) == 30 and len(set(read)) == 30
        assert {u.rsplit("/", 1)[1] for u in read} == made
        assert all("/I/" in u for u in read)
    listed = await cloud.http.get("/v1/vouchers/batch", headers=cloud.admin())
    assert (await listed.json())["batches"][0]["printed"] == 30


async def test_csv_and_escpos_hold_every_code(cloud: Cloud) -> None:
    """Given a batch of 5, the CSV has a row per code and the ESC/POS job a native QR and the
    typable code per ticket, and one cut each."""
    batch = await _batch(cloud, count=5, kind="voucher", title="Free coffee")
    resp = await cloud.http.get(
        f"/v1/vouchers/batch/{batch['batch_id']}.csv", headers=cloud.admin()
    )
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert {r["code"] for r in rows} == {c["code"] for c in batch["codes"]}
    assert all(r["display"] == codes.display(r["code"]) and r["state"] == "open" for r in rows)
    job = await (
        await cloud.http.get(
            f"/v1/vouchers/batch/{batch['batch_id']}.escpos", headers=cloud.admin()
        )
    ).read()
    assert job.startswith(b"\x1b@") and job.count(b"\x1dV\x42\x00") == 5
    for c in batch["codes"]:
        assert c["url"].encode() in job and codes.display(c["code"]).encode() in job
    assert job.count(b"\x1d(k") == 5 * 5


async def test_an_insert_lands_once_on_a_new_card_and_expires(cloud: Cloud) -> None:
    """Given inserts valid 7 days: the first claim makes a card with the stamps; the same code
    again is already claimed (409); a code typed loosely works; after 7 days: expired (410)."""
    batch = await _batch(cloud, count=3, kind="stamps", stamps=2, valid_days=7)
    first, second, third = (c["code"] for c in batch["codes"])
    resp = await _claim(cloud, first)
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    assert got["new_card"] is True and got["stamps"] == 2 and got["balance"] == 2
    again = await _claim(cloud, first, got["card_code"])
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "already_claimed"
    unknown = await _claim(cloud, second, "SC" + "7" * 12)
    assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "unknown_card"
    bad = await _claim(cloud, second, "not a card!")
    assert bad.status == 404 and (await bad.json())["error"]["field"] == "card_code"
    typed = codes.display(second).lower().replace("0", "o")
    resp = await _claim(cloud, typed, got["card_code"])
    assert resp.status == 201 and (await resp.json())["balance"] == 4
    cloud.clock.advance(days=7)
    late = await _claim(cloud, third)
    assert late.status == 410 and (await late.json())["error"]["code"] == "expired"
    card = await cloud.card(got["card_code"])
    assert card["balance"] == 4


async def test_claim_page_offers_then_claims_with_the_shop_name(cloud: Cloud) -> None:
    """Given an insert, GET /I/{code} only offers (claims nothing), POST claims it and (after
    its redirect) shows the shop's name, and a second POST says already claimed."""
    batch = await _batch(cloud, count=1, kind="stamps", stamps=1)
    url = batch["codes"][0]["url"]
    path = url[url.index("/I/") :]
    offer = await cloud.http.get(path)
    assert offer.status == 200 and 'id="claim"' in await offer.text()
    done = await cloud.http.post(path)  # the 303 followed
    assert done.status == 200 and done.history[0].status == 303
    assert "Cafe" in await done.text()
    twice = await cloud.http.post(path)
    assert twice.status == 409 and 'data-problem="already_claimed"' in await twice.text()
    unknown = await cloud.http.get("/I/00000-00000")
    assert unknown.status == 404
    # typed by hand from the paper, loosely: the form leads to the same claim page
    form = await cloud.http.get("/I")
    assert form.status == 200 and 'name="code"' in await form.text()
    code = batch["codes"][0]["code"]
    typed = await cloud.http.get("/I", params={"code": codes.display(code).lower()},
                                 allow_redirects=False)  # fmt: skip
    assert typed.status == 303 and typed.headers["Location"] == f"/I/{code}"
    wrong = await cloud.http.get("/I", params={"code": "hello"})
    assert wrong.status == 422 and "not a code" in await wrong.text()


async def test_an_insert_claim_redirects_to_a_page_a_refresh_does_not_claim_again(
    cloud: Cloud,
) -> None:
    """Given an insert worth 3 stamps, when the phone presses the button, then the POST answers
    303 to the code's page; that GET shows the 3 stamps added; a second GET (a refresh) shows
    the code already claimed with a way to this phone's card, and the card holds 3 stamps."""
    batch = await _batch(cloud, count=1, kind="stamps", stamps=3)
    code = batch["codes"][0]["code"]
    path = f"/I/{code}"
    posted = await cloud.http.post(path, allow_redirects=False)
    assert posted.status == 303 and posted.headers["Location"] == path
    shown = await cloud.http.get(posted.headers["Location"])
    html = await shown.text()
    assert shown.status == 200 and 'id="added"' in html and "3 stamps" in html, html
    assert 'id="claim"' not in html
    card_code = re.search(r'href="[^"]*/card/([^/"]+)/', html)
    assert card_code is not None
    again = await cloud.http.get(path)
    text = await again.text()
    assert again.status == 409 and 'data-problem="already_claimed"' in text
    assert 'href="/card"' in text and 'id="added"' not in text
    card = await cloud.card(card_code.group(1))
    assert card["balance"] == 3


async def test_voucher_batch_counts_claimed_redeemed_and_conversion(cloud: Cloud) -> None:
    """Given 4 voucher codes, one claimed and its voucher redeemed at the till: the batch
    shows claimed 1, redeemed 1 and conversion 0.25."""
    batch = await _batch(cloud, count=4, kind="voucher", title="Free croissant", valid_days=30)
    got = await (await _claim(cloud, batch["codes"][0]["code"])).json()
    assert got["rewards"][0]["kind"] == "voucher" and got["rewards"][0]["name"] == "Free croissant"
    code = got["rewards"][0]["code"]
    resp = await cloud.http.post(f"/v1/vouchers/{code}/redeem", headers=cloud.device())
    assert resp.status == 200, await resp.text()
    listed = await (await cloud.http.get("/v1/vouchers/batch", headers=cloud.admin())).json()
    figures = listed["batches"][0]
    assert (figures["claimed"], figures["redeemed"], figures["conversion"]) == (1, 1, 0.25)


async def test_one_voucher_for_a_customer_lands_on_their_card(cloud: Cloud) -> None:
    """Given a customer found by email, POST /v1/vouchers puts the voucher on their card at
    once; an unknown customer is 404; bad input is 422 naming the field."""
    customer = await cloud.customer(email="ana@example.com")
    resp = await cloud.http.post(
        "/v1/vouchers", headers=cloud.admin(),
        json={"title": "Birthday cake", "customer": {"email": "ana@example.com"}},
    )  # fmt: skip
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["codes"][0]["state"] == "claimed" and out["claimed"] == 1
    card = await cloud.card(customer["card_code"])
    assert [r["name"] for r in card["rewards"]] == ["Birthday cake"]
    missing = await cloud.http.post(
        "/v1/vouchers", json={"customer": {"email": "nobody@example.com"}}, headers=cloud.admin()
    )
    assert missing.status == 404
    bad = await cloud.http.post("/v1/vouchers/batch", json={"count": 0}, headers=cloud.admin())
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "count"
    link = await cloud.http.post("/v1/vouchers", json={}, headers=cloud.admin())
    assert (await link.json())["codes"][0]["state"] == "open"


async def test_batches_need_the_admin_key(cloud: Cloud) -> None:
    """A device key or no key cannot make or download batches."""
    assert (await cloud.http.post("/v1/vouchers/batch", json={"count": 1})).status == 401
    resp = await cloud.http.post("/v1/vouchers/batch", json={"count": 1}, headers=cloud.device())
    assert resp.status == 403
    batch = await _batch(cloud, count=1)
    resp = await cloud.http.get(
        f"/v1/vouchers/batch/{batch['batch_id']}.csv", headers=cloud.device()
    )
    assert resp.status == 403
    resp = await cloud.http.get("/v1/vouchers/batch/999.csv", headers=cloud.admin())
    assert resp.status == 404
    # the signed-in session downloads (the pages' links) but never makes anything on its own;
    # the admin key itself is no cookie
    raw = {"Cookie": f"stampedge_admin={cloud.link['admin_key']}"}
    resp = await cloud.http.get(f"/v1/vouchers/batch/{batch['batch_id']}.csv", headers=raw)
    assert resp.status == 401
    login = await cloud.http.post(
        "/dashboard/login", data={"key": cloud.link["admin_key"]}, allow_redirects=False
    )
    jar = {"Cookie": f"stampedge_admin={login.cookies['stampedge_admin'].value}"}
    resp = await cloud.http.get(f"/v1/vouchers/batch/{batch['batch_id']}.csv", headers=jar)
    assert resp.status == 200
    resp = await cloud.http.post("/v1/vouchers/batch", json={"count": 1}, headers=jar)
    assert resp.status == 401


def test_typed_codes_are_forgiving() -> None:
    """Case, dashes, spaces, O for 0 and I/L for 1 are read as the code; anything else is not."""
    code = codes.new_code()
    assert codes.canonical(codes.display(code).lower()) == code
    assert codes.canonical("0O1IL-ABCDE") == "00111ABCDE"
    assert codes.canonical("ABCDU-12345") is None and codes.canonical("ABC") is None


async def test_two_phones_claiming_one_code_at_once_get_it_once(cloud: Cloud) -> None:
    """Given one insert scanned by two phones at the same moment, one claim lands and the other
    is told it was already claimed; the stamps land once."""
    batch = await _batch(cloud, count=1, kind="stamps", stamps=3)
    code = batch["codes"][0]["code"]
    answers = await asyncio.gather(*(_claim(cloud, code) for _ in range(2)))
    assert sorted(r.status for r in answers) == [201, 409]
    won = next(r for r in answers if r.status == 201)
    assert (await cloud.card((await won.json())["card_code"]))["balance"] == 3
