"""Customers who own their card (issue #19, part A), on SQLite and PostgreSQL, with mail sent
through a real local SMTP server: verified email by a one-time link, recovery on a second
phone, the 202 ``confirm_by_email`` claim finished by the link, consent and "no more offers"."""

import asyncio

import aiohttp

from sync.cloud.book import to_us
from sync.cloud.store import Store
from sync.cloud.store.identity import CONSENT_WORDING, Identity, Mail
from sync.contract import claim_token
from tests.clock import Clock
from tests.conftest import free_port
from tests.sync.cloud.conftest import card_sig
from tests.sync.cloud.mail_sink import Mailed, SmtpSink, link_in, mail_cloud, mailed, smtp
from tests.sync.cloud.mail_sink import claim_on as _claim_on
from tests.sync.cloud.mail_sink import phone as _phone

__all__ = ["mailed", "smtp"]


async def _ask_link(phone: aiohttp.ClientSession, m: Mailed, email: str) -> str:
    resp = await phone.post(m.url("/card/email"), data={"email": email})
    assert resp.status == 200, await resp.text()
    assert "Check your inbox" in await resp.text()
    return "ok"


async def test_given_a_card_when_its_email_is_given_then_a_link_arrives_works_once_on_another_phone(
    mailed: Mailed,
) -> None:
    """Given a phone with a card, when it gives an email, then one message with a sign-in link
    reaches the SMTP server; opening the link on a second phone shows one button and changes
    nothing; pressing it puts the same card on the second phone and the address on the card;
    the link then fails (used)."""
    async with _phone() as first, _phone() as second:
        code = await _claim_on(first, mailed, "ID-1", 2)
        await _ask_link(first, mailed, "Ann@Example.com")
        [msg] = await mailed.smtp.sink.wait_for(1)
        assert msg["To"] == "ann@example.com" and "Cafe" in msg["Subject"]
        assert msg["List-Unsubscribe"].startswith("<http") and (
            msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        )
        path = link_in(msg)
        shown = await second.get(mailed.url(path))
        assert shown.status == 200 and 'id="continue"' in await shown.text()
        assert (await mailed.card(code))["email"] is None  # a GET (a mail scanner) did nothing
        done = await second.post(mailed.url(path), allow_redirects=False)
        assert done.status == 303 and done.headers["Location"] == "/card"
        page = await (await second.get(mailed.url("/card"))).text()
        assert f'id="card-code">{code}<' in page and "ann@example.com" in page
        assert (await mailed.card(code))["email"] == "ann@example.com"
        again = await second.post(mailed.url(path), allow_redirects=False)
        assert again.status == 409 and 'data-problem="used"' in await again.text()


async def test_given_a_link_when_it_is_older_than_its_lifetime_then_it_has_expired(
    mailed: Mailed,
) -> None:
    async with _phone() as phone:
        code = await _claim_on(phone, mailed, "ID-2", 1)
        await _ask_link(phone, mailed, "bob@example.com")
        [msg] = await mailed.smtp.sink.wait_for(1)
        mailed.clock.advance(minutes=31)
        resp = await phone.post(mailed.url(link_in(msg)), allow_redirects=False)
        assert resp.status == 410 and 'data-problem="expired"' in await resp.text()
        assert (await mailed.card(code))["email"] is None
        bogus = await phone.get(mailed.url("/signin/" + "A" * 32))
        assert bogus.status == 404


async def test_given_an_address_with_a_card_when_a_claim_names_it_then_the_link_adds_the_stamps(
    mailed: Mailed,
) -> None:
    """Given a card with a verified email, when a receipt is claimed through the API with that
    email, then 202 confirm_by_email (nothing attached) and a link is mailed; opening the link
    on any phone adds the receipt's stamps to that card, once."""
    made = await mailed.http.post(
        "/v1/customers", json={"email": "cy@example.com"}, headers=mailed.admin()
    )
    owner = (await made.json())["card_code"]
    token = mailed.token("ID-3", 3)
    resp = await mailed.http.post(f"/v1/claims/{token}", json={"email": "CY@example.com"})
    assert resp.status == 202 and (await resp.json())["status"] == "confirm_by_email"
    assert (await mailed.card(owner))["balance"] == 0
    [msg] = await mailed.smtp.sink.wait_for(1)
    assert msg["To"] == "cy@example.com"
    async with _phone() as phone:
        done = await phone.post(mailed.url(link_in(msg)), allow_redirects=False)
        assert done.status == 303
        page = await (await phone.get(mailed.url("/card"))).text()
        assert f'id="card-code">{owner}<' in page
    assert (await mailed.card(owner))["balance"] == 3
    spent = await mailed.http.post(f"/v1/claims/{token}", json={})
    assert spent.status == 409


async def test_given_a_new_address_on_a_claim_then_the_card_gets_it_only_through_the_link(
    mailed: Mailed,
) -> None:
    resp = await mailed.http.post(
        f"/v1/claims/{mailed.token('ID-4', 1)}", json={"email": "dee@example.com"}
    )
    assert resp.status == 201
    code = (await resp.json())["card_code"]
    assert (await mailed.card(code))["email"] is None
    [msg] = await mailed.smtp.sink.wait_for(1)
    async with _phone() as phone:
        assert (await phone.post(mailed.url(link_in(msg)), allow_redirects=False)).status == 303
    assert (await mailed.card(code))["email"] == "dee@example.com"


async def test_given_a_phone_that_lost_its_card_when_it_asks_for_the_link_then_it_gets_it_back(
    mailed: Mailed,
) -> None:
    """Given a card with a verified email and 4 stamps on a lost phone, when a new phone claims
    a receipt (a new card, 2 stamps) and says "I have a card already" with the address, then
    the link brings the old card to the new phone with both receipts' stamps; the new phone's
    short-lived card is merged into it and its code still finds it."""
    async with _phone() as lost, _phone() as fresh:
        old = await _claim_on(lost, mailed, "ID-5", 4)
        await _ask_link(lost, mailed, "eve@example.com")
        [first] = await mailed.smtp.sink.wait_for(1)
        assert (await lost.post(mailed.url(link_in(first)), allow_redirects=False)).status == 303
        new = await _claim_on(fresh, mailed, "ID-6", 2)
        assert new != old
        await _ask_link(fresh, mailed, "eve@example.com")
        second = (await mailed.smtp.sink.wait_for(2))[1]
        assert (await fresh.post(mailed.url(link_in(second)), allow_redirects=False)).status == 303
        page = await (await fresh.get(mailed.url("/card"))).text()
        assert f'id="card-code">{old}<' in page
    card = await mailed.card(old)
    assert card["balance"] == 6 and card["email"] == "eve@example.com"
    assert (await mailed.card(new))["card_code"] == old  # the alias leads to the card


async def test_given_the_claim_page_when_i_have_a_card_already_then_the_link_claims_onto_it(
    mailed: Mailed,
) -> None:
    made = await mailed.http.post(
        "/v1/customers", json={"email": "fay@example.com"}, headers=mailed.admin()
    )
    owner = (await made.json())["card_code"]
    token = mailed.token("ID-7", 2)
    async with _phone() as phone:
        offer = await (await phone.get(mailed.url(f"/c/{token}"))).text()
        assert f'action="/c/{token}/email"' in offer
        sent = await phone.post(mailed.url(f"/c/{token}/email"), data={"email": "fay@example.com"})
        assert sent.status == 200
        [msg] = await mailed.smtp.sink.wait_for(1)
        assert (await phone.post(mailed.url(link_in(msg)), allow_redirects=False)).status == 303
    assert (await mailed.card(owner))["balance"] == 2


async def test_given_many_requests_for_one_address_then_only_three_links_go_out(
    mailed: Mailed,
) -> None:
    """Given a hostile page asking for links to someone's address, then three links an hour
    reach that address (the answer stays the same: no oracle), and the client that asks past
    ten an hour is answered 429."""
    async with _phone() as phone:
        await _claim_on(phone, mailed, "ID-8", 1)
        for _ in range(5):
            await _ask_link(phone, mailed, "gil@example.com")
        await mailed.smtp.sink.wait_for(3)
        for i in range(5):
            await _ask_link(phone, mailed, f"other{i}@example.com")
        over = await phone.post(mailed.url("/card/email"), data={"email": "x@example.com"})
        assert over.status == 429 and over.headers["Retry-After"]
        bad = await phone.post(mailed.url("/card/email"), data={"email": "not an address"})
        assert bad.status in (422, 429)
    async with mailed.store.db.read() as tx:
        rows = await tx.fetch("SELECT to_addr FROM mail_outbox")
    assert sum(1 for r in rows if r["to_addr"] == "gil@example.com") == 3


async def test_given_consent_when_withdrawn_from_the_message_then_no_offer_is_queued(
    mailed: Mailed,
) -> None:
    """Given a verified card that said yes to email offers (recorded with the wording version
    and time), when the message's one-click unsubscribe link is posted, then the answer is
    recorded as no and an offer is no longer queued; a link with a wrong signature does
    nothing."""
    async with _phone() as phone:
        code = await _claim_on(phone, mailed, "ID-9", 1)
        await _ask_link(phone, mailed, "hal@example.com")
        [msg] = await mailed.smtp.sink.wait_for(1)
        await phone.post(mailed.url(link_in(msg)))
        saved = await phone.post(
            mailed.url("/card/consent"), data={"email": "yes", "wallet": "yes"},
            allow_redirects=False,
        )  # fmt: skip
        assert saved.status == 303
        page = await (await phone.get(mailed.url("/card"))).text()
        assert 'id="consent-email" checked' in page
    identity = Identity(mailed.store.db)
    customer_id, business_id, _ = await identity.card_id(code)
    async with mailed.store.db.read() as tx:
        rows = await tx.fetch(
            "SELECT channel, granted, wording, at_us FROM consents WHERE customer_id = ? "
            "ORDER BY id", customer_id,
        )  # fmt: skip
    assert [(r["channel"], r["granted"], r["wording"]) for r in rows] == [
        ("email", 1, CONSENT_WORDING), ("wallet", 1, CONSENT_WORDING)
    ]  # fmt: skip
    assert int(rows[0]["at_us"]) == to_us(mailed.clock.now)
    offer = Mail("offer", "hal@example.com", "Offer", "2 for 1", {})
    assert await identity.queue_marketing(business_id, customer_id, offer, "email", 0)
    url = msg["List-Unsubscribe"].strip("<>")
    path = "/" + url.split("/", 3)[3]
    forged = path[:-4] + "0000"
    assert (await mailed.http.post(forged, data={"List-Unsubscribe": "One-Click"})).status == 404
    shown = await mailed.http.get(path)
    assert shown.status == 200 and 'id="unsubscribe"' in await shown.text()
    assert (await identity.consents(customer_id))["email"] is True  # a GET changed nothing
    done = await mailed.http.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status == 200 and 'id="unsubscribed"' in await done.text()
    assert await identity.consents(customer_id) == {"email": False, "wallet": True}
    assert not await identity.queue_marketing(business_id, customer_id, offer, "email", 0)


async def test_given_no_verified_email_then_email_offers_cannot_be_said_yes_to(
    mailed: Mailed,
) -> None:
    async with _phone() as phone:
        code = await _claim_on(phone, mailed, "ID-10", 1)
        await phone.post(mailed.url("/card/consent"), data={"email": "yes"})
    identity = Identity(mailed.store.db)
    customer_id, _, _ = await identity.card_id(code)
    assert await identity.consents(customer_id) == {"email": False, "wallet": False}


async def test_given_the_mail_server_down_then_the_claim_answers_and_the_mail_goes_later(
    store: Store,
    clock: Clock,
) -> None:
    """Given no SMTP server listening, when a claim gives an email, then the claim answers 201
    at once and the message waits in the outbox with its failure and a later next try; once a
    server listens and the retry is due, the message arrives."""
    port = free_port()
    http, link = await mail_cloud(store, clock, port)
    sink = SmtpSink(port)
    try:
        text, _ = claim_token.mint(
            secret=link["device_secret"], device_id=link["device_id"], order_id="ID-11",
            stamps=1, now=clock.now, ttl_hours=24,
        )  # fmt: skip
        resp = await http.post(f"/v1/claims/{text}", json={"email": "ida@example.com"})
        assert resp.status == 201
        row = None
        for _ in range(600):
            async with store.db.read() as tx:
                row = await tx.fetchrow("SELECT attempts, next_us, sent_us, last_error "
                                        "FROM mail_outbox")  # fmt: skip
            if row is not None and int(row["attempts"]) >= 1:
                break
            await asyncio.sleep(0.05)
        assert row is not None and int(row["attempts"]) == 1 and row["sent_us"] is None
        assert int(row["next_us"]) > to_us(clock.now) and "Connection" in row["last_error"]
        await asyncio.to_thread(sink.start)
        clock.advance(minutes=5)
        [msg] = await sink.sink.wait_for(1)
        assert msg["To"] == "ida@example.com"
    finally:
        await http.close()
        await asyncio.to_thread(sink.stop)


def test_given_the_mail_settings_then_the_password_never_prints() -> None:
    from config import load_cloud_settings

    s = load_cloud_settings(None, {"mail": {"host": "smtp.example.com", "password": "hunter2"}})
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    assert s.mail.password.get_secret_value() == "hunter2"


async def test_given_a_link_asked_from_someone_elses_phone_then_that_phone_never_opens_the_card(
    mailed: Mailed,
) -> None:
    """Given a victim's verified card and an attacker's phone with a card of its own, when the
    attacker asks for a link to the victim's address and the victim opens it (on the victim's
    phone), then the attacker's card is merged into the victim's, and the attacker's cookie and
    private link open nothing: its next receipt starts a new card, not the victim's."""
    made = await mailed.http.post(
        "/v1/customers", json={"email": "vic@example.com"}, headers=mailed.admin()
    )
    victim = (await made.json())["card_code"]
    async with _phone() as attacker, _phone() as owner:
        mine = await _claim_on(attacker, mailed, "ID-20", 1)
        await _ask_link(attacker, mailed, "vic@example.com")
        [msg] = await mailed.smtp.sink.wait_for(1)
        assert (await owner.post(mailed.url(link_in(msg)), allow_redirects=False)).status == 303
        assert (await mailed.card(mine))["card_code"] == victim  # merged: the code is an alias
        assert (await attacker.get(mailed.url("/card"))).status == 404
        sig = await card_sig(mailed.store, mine)
        assert (await attacker.get(mailed.url(f"/card/{mine}/{sig}"))).status == 404
        after = await _claim_on(attacker, mailed, "ID-21", 1)
        assert after not in (victim, mine)
    assert (await mailed.card(victim))["balance"] == 1


async def test_given_a_client_past_its_link_limit_then_its_claims_still_answer_201(
    mailed: Mailed,
) -> None:
    """Given a client that already had ten links this hour, when it claims receipts with new
    addresses, then each claim is made and answered 201 (no 429 after the stamps moved); only
    the links beyond the limit are not sent."""
    statuses = []
    for i in range(12):
        resp = await mailed.http.post(
            f"/v1/claims/{mailed.token(f'ID-3{i}', 1)}", json={"email": f"n{i}@example.com"}
        )
        statuses.append(resp.status)
    assert statuses == [201] * 12
    async with mailed.store.db.read() as tx:
        assert await tx.fetchval("SELECT COUNT(*) FROM mail_outbox") == 10


async def test_given_customers_languages_then_the_forms_the_mail_and_the_link_pages_speak_them(
    mailed: Mailed,
) -> None:
    """Given a phone whose browser asks for Polish, when it claims a receipt and gives its email,
    then the card page's email and offers forms, the "check your inbox" answer and the mail are
    Polish; the link opened on a phone that picked Ukrainian (?lang=uk, then the cookie) shows
    its button in Ukrainian; after saving the offers the card says so; and the "no more offers"
    page opened by a German browser is German."""
    polish = {"Accept-Language": "pl-PL, en;q=0.5"}
    async with _phone() as first, _phone() as second:
        resp = await first.post(mailed.url(f"/c/{mailed.token('LANG-1', 2)}"), headers=polish)
        assert resp.status == 200 and "Twój e-mail" in await resp.text()
        card = await (await first.get(mailed.url("/card"), headers=polish)).text()
        assert '<html lang="pl">' in card and "Wyślij mi link" in card and "Oferty" in card
        asked = await first.post(mailed.url("/card/email"), data={"email": "ola@example.com"},
                                 headers=polish)  # fmt: skip
        sent = await asked.text()
        assert asked.status == 200 and '<html lang="pl">' in sent
        assert "Sprawdź skrzynkę odbiorczą" in sent and "Check your inbox" not in sent
        [msg] = await mailed.smtp.sink.wait_for(1)
        assert msg["Subject"].startswith("Twoja karta z pieczątkami w ")
        body = msg.get_content()
        assert "Otwórz ten link w telefonie" in body and "przypisać kartę" in body
        assert "Hello" not in body and "Otrzymujesz tę wiadomość" in body
        path = link_in(msg)
        picked = await second.get(mailed.url(path + "?lang=uk"), headers=polish)
        shown = await picked.text()
        assert '<html lang="uk">' in shown and ">Продовжити<" in shown
        assert picked.cookies["stampedge_lang"].value == "uk"
        again = await (await second.get(mailed.url(path), headers=polish)).text()
        assert '<html lang="uk">' in again
        await second.post(mailed.url(path))
        saved = await second.post(mailed.url("/card/consent"), data={"wallet": "yes"})
        page = await saved.text()
        assert (
            saved.status == 200 and 'id="consent-saved"' in page and "Ваш вибір збережено." in page
        )
        assert "ola@example.com" in page and "Електронну адресу підтверджено" in page
    url = msg["List-Unsubscribe"].strip("<>")
    german = {"Accept-Language": "de-DE"}
    shown = await mailed.http.get("/" + url.split("/", 3)[3], headers=german)
    text = await shown.text()
    assert shown.status == 200 and '<html lang="de">' in text
    assert "keine Angebote mehr an diese E-Mail-Adresse" in text


async def test_given_a_verified_customer_with_a_merged_card_when_erased_then_nothing_names_them(
    mailed: Mailed,
) -> None:
    """Given a card with a verified address, consent given, its sign-in message in the outbox
    and an older card merged into it, when the owner erases the customer, then no message,
    sign-in link or consent row keeps the address, and neither card code finds anything (the
    merged card's alias is erased with it)."""
    async with _phone() as phone, _phone() as other:
        code = await _claim_on(phone, mailed, "ER-1", 2)
        await _ask_link(phone, mailed, "erin@example.com")
        [msg] = await mailed.smtp.sink.wait_for(1)
        assert (await phone.post(mailed.url(link_in(msg)), allow_redirects=False)).status == 303
        await phone.post(mailed.url("/card/consent"), data={"email": "yes"})
        old = await _claim_on(other, mailed, "ER-2", 1)
    merged = await mailed.http.post(
        f"/v1/cards/{old}/merge", json={"into": code}, headers=mailed.admin()
    )
    assert merged.status == 200, await merged.text()
    customer_id, _, _ = await Identity(mailed.store.db).card_id(code)
    assert await Identity(mailed.store.db).consents(customer_id) == {"email": True, "wallet": False}

    erased = await mailed.http.delete(f"/v1/customers/{customer_id}", headers=mailed.admin())
    assert erased.status == 200, await erased.text()

    address = "erin@example.com"
    async with mailed.store.db.read() as tx:
        left = [
            await tx.fetchval("SELECT COUNT(*) FROM mail_outbox WHERE to_addr = ?", address),
            await tx.fetchval("SELECT COUNT(*) FROM sign_in_links WHERE email = ?", address),
            await tx.fetchval("SELECT COUNT(*) FROM consents WHERE customer_id = ?", customer_id),
            await tx.fetchval("SELECT COUNT(*) FROM customers WHERE card_code = ? OR card_code = ?",
                              code, old),
        ]  # fmt: skip
    assert left == [0, 0, 0, 0]
    for gone in (code, old):
        resp = await mailed.http.get(f"/v1/cards/{gone}", headers=mailed.admin())
        assert resp.status == 404
