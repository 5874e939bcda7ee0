"""The customer's own data-protection requests from the card page (issue #19), on SQLite and
PostgreSQL, with the email verified through a real local SMTP server: a verified phone
downloads its data and erases its card; a phone without a verified email, without a card, with a
forged or merged-away card, or a form sent from another site, changes nothing."""

from datetime import timedelta
from typing import Any

import aiohttp

from sync.web.texts import t
from tests.sync.cloud.conftest import card_sig
from tests.sync.cloud.mail_sink import Mailed, claim_on, link_in, mailed, phone, smtp

__all__ = ["mailed", "smtp"]

NAME = "Dagmar Quist"
EMAIL = "dagmar.quist@example.org"
CONFIRM = {"confirm": "yes"}


async def _stats(m: Mailed) -> Any:
    day = m.clock.now.date()
    resp = await m.http.get(
        "/v1/stats", headers=m.admin(),
        params={"branch": m.link["branch_id"], "from": str(day - timedelta(days=7)),
                "to": str(day + timedelta(days=7))},
    )  # fmt: skip
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _found(m: Mailed, q: str) -> list[Any]:
    resp = await m.http.get("/v1/customers", params={"q": q}, headers=m.admin())
    assert resp.status == 200, await resp.text()
    customers: list[Any] = (await resp.json())["customers"]
    return customers


async def _verified_phone(m: Mailed, on: aiohttp.ClientSession) -> str:
    """The shop's customer (name and email, made by the owner) gets their card onto a phone
    that claimed a receipt: the phone gives the address, the mailed link is opened on it.
    The card code the phone then shows."""
    made = await m.http.post(
        "/v1/customers", json={"email": EMAIL, "name": NAME}, headers=m.admin()
    )
    assert made.status == 201, await made.text()
    await claim_on(on, m, "SS-1", 3)
    asked = await on.post(m.url("/card/email"), data={"email": EMAIL})
    assert asked.status == 200, await asked.text()
    [msg] = await m.smtp.sink.wait_for(1)
    done = await on.post(m.url(link_in(msg)), allow_redirects=False)
    assert done.status == 303, await done.text()
    page = await (await on.get(m.url("/card"))).text()
    assert 'id="my-data"' in page and 'id="export"' in page and 'id="erase-confirm"' in page
    start = page.index('id="card-code">') + len('id="card-code">')
    return page[start : page.index("<", start)]


async def test_given_a_verified_phone_when_it_downloads_its_data_then_the_owners_export_arrives(
    mailed: Mailed,
) -> None:
    """Given a phone whose card's email was verified by the mailed link, when it presses
    "Download my data", then the answer is the owner's export of that customer (its email,
    its name, its ledger with the receipt's stamps) as the attachment my-stamp-card.json, not
    to be cached."""
    async with phone() as mine:
        code = await _verified_phone(mailed, mine)
        resp = await mine.post(mailed.url("/card/export"))
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.headers["Content-Disposition"] == 'attachment; filename="my-stamp-card.json"'
        assert resp.headers["Cache-Control"] == "no-store"
        data = await resp.json()
    assert data["customer"]["email"] == EMAIL and data["customer"]["name"] == NAME
    assert data["customer"]["card_code"] == code
    assert sum(e["delta"] for e in data["ledger"]) == 3 and data["customer"]["balance"] == 3
    owners = await mailed.http.get(
        f"/v1/customers/{data['customer']['customer_id']}/export", headers=mailed.admin()
    )
    assert owners.status == 200 and await owners.json() == data


async def test_given_a_verified_phone_when_it_erases_then_the_person_is_gone_and_figures_stay(
    mailed: Mailed,
) -> None:
    """Given a verified phone, when it sends the erase form without the tick, then 422 and
    nothing changes; when it ticks and sends it, then a plain confirmation, the phone forgets
    its card (the cookie is deleted, /card finds none), the owner's search finds neither the
    email nor the name, /v1/stats is unchanged and the audit record says the customer asked."""
    async with phone() as mine:
        code = await _verified_phone(mailed, mine)
        cid = (await _found(mailed, EMAIL))[0]["customer_id"]
        before = await _stats(mailed)
        assert sum(d["qr_claimed"] for d in before["days"]) == 1
        unticked = await mine.post(mailed.url("/card/erase"), data={})
        assert unticked.status == 422
        assert 'data-problem="unconfirmed"' in await unticked.text()
        assert (await mailed.card(code))["email"] == EMAIL

        resp = await mine.post(mailed.url("/card/erase"), data=CONFIRM)
        assert resp.status == 200, await resp.text()
        assert 'id="erased"' in await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"
        gone = resp.cookies["stampedge_card"]
        assert gone.value == "" and gone["max-age"] == "0"
        assert (
            mine.cookie_jar.filter_cookies(mailed.http.make_url("/")).get("stampedge_card") is None
        )
        after = await mine.get(mailed.url("/card"))
        assert after.status == 404
    assert await _found(mailed, EMAIL) == [] and await _found(mailed, NAME) == []
    assert await _found(mailed, code) == []
    assert await _stats(mailed) == before
    audit = await mailed.http.delete(f"/v1/customers/{cid}", headers=mailed.admin())
    assert audit.status == 200
    assert (await audit.json())["requested_by"] == "customer"


async def test_given_a_card_without_a_verified_email_when_it_asks_then_403_and_nothing_changes(
    mailed: Mailed,
) -> None:
    """Given a phone whose card has no verified email, when it asks for its data or erases,
    then 403 with a page that says to confirm the email first, the card page offers neither,
    and the card keeps its stamps."""
    async with phone() as mine:
        code = await claim_on(mine, mailed, "SS-2", 2)
        page = await (await mine.get(mailed.url("/card"))).text()
        assert 'id="my-data"' not in page
        export = await mine.post(mailed.url("/card/export"))
        assert export.status == 403
        assert export.headers["Content-Type"].startswith("text/html")
        assert 'data-problem="unverified"' in await export.text()
        erase = await mine.post(mailed.url("/card/erase"), data=CONFIRM)
        assert erase.status == 403 and 'data-problem="unverified"' in await erase.text()
        assert (await mine.get(mailed.url("/card"))).status == 200
    card = await mailed.card(code)
    assert card["balance"] == 2 and card["card_code"] == code


async def test_given_no_forged_or_merged_away_card_when_it_asks_then_401_and_nothing_changes(
    mailed: Mailed,
) -> None:
    """Given a phone without a card cookie, one with a forged cookie naming a verified card,
    and one whose card was merged into a verified card, when each erases or exports, then 401
    and the verified card keeps its email."""
    made = await mailed.http.post(
        "/v1/customers", json={"email": EMAIL, "name": NAME}, headers=mailed.admin()
    )
    target = (await made.json())["card_code"]
    async with phone() as bare, phone() as forged, phone() as merged:
        forged.cookie_jar.update_cookies(
            {"stampedge_card": f"{target}.{'0' * 24}"}, mailed.http.make_url("/")
        )
        old = await claim_on(merged, mailed, "SS-3", 1)
        moved = await mailed.http.post(
            f"/v1/cards/{old}/merge", json={"into": target}, headers=mailed.admin()
        )
        assert moved.status == 200, await moved.text()
        for who in (bare, forged, merged):
            for path, data in (("/card/erase", CONFIRM), ("/card/export", {})):
                resp = await who.post(mailed.url(path), data=data)
                assert resp.status == 401, (path, await resp.text())
                assert 'data-problem="no_card"' in await resp.text()
    assert (await mailed.card(target))["email"] == EMAIL
    assert [c["card_code"] for c in await _found(mailed, EMAIL)] == [target]


async def test_given_a_verified_card_when_another_site_posts_the_forms_then_403_nothing_erased(
    mailed: Mailed,
) -> None:
    """Given a verified phone, when a page of another site posts the erase or export form
    with the phone's cookie, then 403 (cross-origin), the card keeps its email and the phone its
    card; the same form from the card's own page works."""
    async with phone() as mine:
        code = await _verified_phone(mailed, mine)
        for path in ("/card/erase", "/card/export"):
            resp = await mine.post(
                mailed.url(path), data=CONFIRM, headers={"Origin": "https://evil.example"}
            )
            assert resp.status == 403, await resp.text()
        assert (await mailed.card(code))["email"] == EMAIL
        assert (await mine.get(mailed.url("/card"))).status == 200
        own = str(mailed.http.make_url("")).rstrip("/")
        ok = await mine.post(mailed.url("/card/erase"), data=CONFIRM, headers={"Origin": own})
        assert ok.status == 200, await ok.text()
    assert await _found(mailed, EMAIL) == []


async def test_given_the_cards_private_link_when_it_has_a_verified_email_then_the_forms_show(
    mailed: Mailed,
) -> None:
    """Given a card with a verified email opened by its private link on a new phone, then the
    card page shows the download and erase forms (the erase box required)."""
    made = await mailed.http.post("/v1/customers", json={"email": EMAIL}, headers=mailed.admin())
    code = (await made.json())["card_code"]
    async with phone() as mine:
        sig = await card_sig(mailed.store, code)
        page = await (await mine.get(mailed.url(f"/card/{code}/{sig}"))).text()
    assert 'action="/card/export"' in page and 'action="/card/erase"' in page
    assert 'name="confirm" value="yes" id="erase-confirm" required' in page


async def test_given_a_german_or_ukrainian_phone_then_the_forms_and_refusals_speak_its_language(
    mailed: Mailed,
) -> None:
    """Given a verified phone whose browser asks for German, then the card page's data section
    is in German; given a Ukrainian phone without a card, when it asks to erase, then the 401
    page is in Ukrainian."""
    async with phone() as mine, phone() as other:
        await _verified_phone(mailed, mine)
        page = await mine.get(mailed.url("/card"), headers={"Accept-Language": "de-DE,de;q=0.9"})
        text = await page.text()
        assert "Meine Daten herunterladen" in text and "Download my data" not in text
        resp = await other.post(
            mailed.url("/card/erase"), data=CONFIRM, headers={"Accept-Language": "uk"}
        )
        ukrainian = t("privacy.no_card.title", "uk")
        assert ukrainian != t("privacy.no_card.title", "en")
        assert resp.status == 401 and ukrainian in await resp.text()
