"""Attacks on the cloud as a hostile page, a guesser or a bad device would run them, against
the real app on a real port, on both backends."""

from datetime import timedelta

from sync.contract.limits import MAX_STAMPS_PER_ORDER
from tests.sync.cloud.conftest import START, Cloud, qr_issued

EVIL = "https://evil.example"


async def test_given_another_sites_page_then_the_claim_and_sign_in_forms_refuse_it(
    cloud: Cloud,
) -> None:
    """A page elsewhere cannot spend a customer's receipt QR onto the attacker's card (its own
    cookie rides along on a top-level POST) nor post the dashboard's sign-in."""
    await cloud.post_events([qr_issued("F-1", 2, START + timedelta(days=1))])
    token = cloud.token("F-1", 2)
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = await cloud.http.post(f"/C/{token}", headers=headers)
        assert resp.status == 403, headers
        login = await cloud.http.post(
            "/dashboard/login", data={"key": cloud.link["admin_key"]}, headers=headers,
            allow_redirects=False,
        )  # fmt: skip
        assert login.status == 403 and "stampedge_admin" not in login.cookies
    # the phone's own page: Origin null (the page says no-referrer) but same-origin fetch
    own_page = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    mine = await cloud.http.post(f"/C/{token}", headers=own_page)
    assert mine.status in (201, 303), await mine.text()


async def test_given_a_json_route_then_only_json_bodies_are_read(cloud: Cloud) -> None:
    body = '{"email": "x@example.com"}'
    plain = {**cloud.admin(), "Content-Type": "text/plain"}
    resp = await cloud.http.post("/v1/customers", data=body, headers=plain)
    assert resp.status == 415
    assert (await resp.json())["error"]["code"] == "unsupported_media_type"


async def test_given_a_receipt_worth_too_many_stamps_then_the_cloud_refuses_it(
    cloud: Cloud,
) -> None:
    """A QR worth 65,535 stamps (minted by a bad or old device) is not claimable, and events
    over the shared ceiling are rejected with a reason, never applied."""
    too_many = MAX_STAMPS_PER_ORDER + 1
    results = await cloud.post_events([qr_issued("T-1", too_many, START + timedelta(days=1))])
    assert results[0]["status"] == "rejected" and "stamps" in results[0]["reason"]
    token = cloud.token("T-1", 65535)
    assert (await cloud.http.get(f"/C/{token}")).status == 404
    resp = await cloud.http.post(f"/v1/claims/{token}", json={})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "invalid"


async def test_given_a_claim_reaching_a_thousand_rewards_then_the_page_stays_small(
    cloud: Cloud,
) -> None:
    """Goal 1 and a check at the ceiling: 1,000 vouchers reached at once; the phone's page
    draws three of them and says how many more are on the card."""
    await cloud.set_program(goal=1, rule="per_order", reward="voucher", max_stamps_per_order=1000)
    n = MAX_STAMPS_PER_ORDER
    await cloud.post_events([qr_issued("T-2", n, START + timedelta(days=1))])
    resp = await cloud.http.post(f"/C/{cloud.token('T-2', n)}")
    html = await resp.text()
    assert resp.status in (201, 303), html[:300]
    assert len(html) < 60_000, len(html)
    assert html.count('id="reward"') == 3
    assert f"{n - 3} more rewards are on your card" in html
