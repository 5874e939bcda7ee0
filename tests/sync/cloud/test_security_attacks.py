"""Attacks on the cloud as a hostile page, a guesser or a bad device would run them, against
the real app on a real port, on both backends."""

from datetime import timedelta

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
