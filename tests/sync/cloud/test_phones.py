"""Phone numbers in the cloud, on both backends: a German shop's customer given as
``+49 30 1234567`` is found when typed ``030 1234567``; identified checks by phone credit the
card (an unknown phone enrols a new customer); the tills are told the country and the phones."""

from typing import Any

import aiohttp

from tests.clock import Clock
from tests.sync.cloud.conftest import Cloud, event, order, start_cloud


async def _german_shop(cloud: Cloud) -> Any:
    """The fixture's business given the country DE, as ``cloud init --country DE`` does."""
    async with cloud.store.db.write(cloud.link["business_id"]) as tx:
        await tx.execute(
            "UPDATE businesses SET country = 'DE' WHERE id = ?", cloud.link["business_id"]
        )


async def _find(cloud: Cloud, q: str) -> list[Any]:
    resp = await cloud.http.get("/v1/customers", params={"q": q}, headers=cloud.admin())
    assert resp.status == 200, await resp.text()
    found: list[Any] = (await resp.json())["customers"]
    return found


async def test_a_phone_given_in_e164_is_found_as_typed_in_a_german_shop(cloud: Cloud) -> None:
    await _german_shop(cloud)
    resp = await cloud.http.post(
        "/v1/customers", json={"name": "Jonas", "phone": "+49 30 1234567"}, headers=cloud.admin()
    )
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    assert made["phone"] == "+49301234567"
    for typed in ("030 1234567", "030/123 45 67", "+49 30 1234567", "0049301234567"):
        assert [c["customer_id"] for c in await _find(cloud, typed)] == [made["customer_id"]]
    assert await _find(cloud, "040 1234567") == []

    again = await cloud.http.post(
        "/v1/customers", json={"phone": "030 1234567"}, headers=cloud.admin()
    )
    assert again.status == 409 and (await again.json())["error"]["code"] == "phone_taken"
    bad = await cloud.http.post("/v1/customers", json={"phone": "12"}, headers=cloud.admin())
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "phone"
    state = await (await cloud.http.get("/v1/sync/state", headers=cloud.device())).json()
    assert state["country"] == "DE"
    assert [c["phone"] for c in state["cards"]] == ["+49301234567"]


async def test_identified_checks_by_phone_credit_the_card_and_enrol_new_phones(
    cloud: Cloud,
) -> None:
    await _german_shop(cloud)
    made = await cloud.customer(email="jonas@example.de")
    async with cloud.store.db.write(cloud.link["business_id"]) as tx:
        await tx.execute("UPDATE customers SET phone = '+49301234567' WHERE id = ?",
                         int(made["customer_id"]))  # fmt: skip
    results = await cloud.post_events([
        event("order.stamped", order("T-1", 2, {"phone": "+49301234567"})),
        event("order.stamped", order("T-2", 1, {"phone": "+4940555123"})),
    ])  # fmt: skip
    assert [r["status"] for r in results] == ["applied", "applied"], results
    assert (await cloud.card(made["card_code"]))["balance"] == 2
    (enrolled,) = await _find(cloud, "040 555123")
    assert enrolled["balance"] == 1 and enrolled["phone"] == "+4940555123"


async def test_a_business_without_a_country_takes_phones_with_their_country_code(
    store: Any, clock: Clock
) -> None:
    http, link = await start_cloud(store, clock, timezone="UTC")
    try:
        admin = {"Authorization": f"Bearer {link['admin_key']}"}
        local = await http.post("/v1/customers", json={"phone": "030 1234567"}, headers=admin)
        assert local.status == 422
        assert "country code" in (await local.json())["error"]["message"]
        full = await http.post("/v1/customers", json={"phone": "+33 1 23 45 67 89"},
                               headers=admin)  # fmt: skip
        assert full.status == 201 and (await full.json())["phone"] == "+33123456789"
    finally:
        await http.close()


async def test_cloud_init_takes_the_country_from_the_time_zone_or_the_option(
    store: Any, clock: Clock
) -> None:
    from sync.cloud.provision import init_business

    berlin = await init_business(store, business="Baeckerei", branch="Mitte", rule="per_order",
                                 timezone="Europe/Berlin", now=clock.now)  # fmt: skip
    assert berlin["country"] == "DE"
    chosen = await init_business(store, business="Cafe AT", branch="1", rule="per_order",
                                 timezone="Europe/Berlin", country="at", now=clock.now)  # fmt: skip
    assert chosen["country"] == "AT"
    try:
        await init_business(store, business="X", branch="1", rule="per_order", country="XX",
                            now=clock.now)  # fmt: skip
    except ValueError as err:
        assert "country code" in str(err)
    else:
        raise AssertionError("country XX was taken")


async def test_the_api_channel_reads_a_crms_phone_in_the_business_country(cloud: Cloud) -> None:
    """Given a German shop's customer with a phone, when a CRM stamps by ``030 1234567`` through
    ``POST /v1/stamps``, then the card is credited; an invalid phone is 422 on customer.phone."""
    await _german_shop(cloud)
    made = await (await cloud.http.post("/v1/customers", json={"phone": "+49 30 1234567"},
                                        headers=cloud.admin())).json()  # fmt: skip
    body = {"order_id": "CRM-P1", "total": "5.00", "customer": {"phone": "030 1234567"}}
    first = await cloud.http.post("/v1/stamps", json=body, headers=cloud.admin())
    assert first.status == 201, await first.text()
    assert (await cloud.card(made["card_code"]))["balance"] == 1
    bad = await cloud.http.post("/v1/stamps", json={**body, "order_id": "CRM-P2",
                                                    "customer": {"phone": "030 12"}},
                                headers=cloud.admin())  # fmt: skip
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "customer.phone"


async def test_a_phone_given_on_the_card_page_finds_the_card_at_the_till(cloud: Cloud) -> None:
    """Given a German shop and a phone holding its card, when the customer types
    ``030 1234567`` on the card page, then the page says it is saved and shows it in E.164, the
    owner's look-up and the tills' sync state find the card by it; the same number from another
    card's phone is refused (409) and a number that is none is refused (422), both as pages."""
    await _german_shop(cloud)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:  # fmt: skip
        for session, order_id in ((phone, "P-1"), (other, "P-2")):
            claimed = await session.post(cloud.http.make_url(f"/c/{cloud.token(order_id, 1)}"))
            assert claimed.status == 200, await claimed.text()
        page = await (await phone.get(cloud.http.make_url("/card"))).text()
        assert 'id="phone-number"' in page and 'action="/card/phone"' in page
        saved = await phone.post(
            cloud.http.make_url("/card/phone"), data={"phone": "030 1234567"},
            allow_redirects=False,
        )  # fmt: skip
        assert saved.status == 303 and saved.headers["Location"] == "/card?phone=saved"
        page = await (await phone.get(cloud.http.make_url("/card?phone=saved"))).text()
        assert 'id="phone-saved"' in page and 'value="+49301234567"' in page

        url = cloud.http.make_url("/card/phone")
        taken = await other.post(url, data={"phone": "+4930 1234567"})
        assert taken.status == 409 and 'role="alert"' in await taken.text()
        bad = await other.post(url, data={"phone": "12"})
        assert bad.status == 422 and 'role="alert"' in await bad.text()

    [found] = await _find(cloud, "030 1234567")
    assert found["phone"] == "+49301234567"
    state = await (await cloud.http.get("/v1/sync/state", headers=cloud.device())).json()
    assert [c["phone"] for c in state["cards"] if c["customer_id"] == found["customer_id"]] == [
        "+49301234567"
    ]
