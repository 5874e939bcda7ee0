"""Attacks on the cloud as a hostile page, a guesser or a bad device would run them, against
the real app on a real port, on both backends."""

import os
import stat
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from sync.contract.limits import MAX_STAMPS_PER_ORDER
from tests.sync.cloud.conftest import START, Cloud, event, order, qr_issued

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
    assert mine.status == 200 and 'id="balance"' in await mine.text()


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
    assert resp.status == 200, html[:300]
    assert len(html) < 60_000, len(html)
    assert html.count('id="reward"') == 3
    assert f"{n - 3} more rewards are on your card" in html


async def test_given_someone_elses_email_then_a_claim_reveals_and_attaches_nothing(
    cloud: Cloud,
) -> None:
    """Card takeover: claiming one's own receipt with the victim's email once returned the
    victim's card code and balance. Now: a neutral 202, no card data, nothing attached, the
    receipt still claimable; an unknown address still starts a new card."""
    victim = await cloud.customer("victim@example.com")
    await cloud.post_events([qr_issued("E-1", 2, START + timedelta(days=1))])
    token = cloud.token("E-1", 2)
    resp = await cloud.http.post(f"/v1/claims/{token}", json={"email": "Victim@Example.com"})
    assert resp.status == 202
    text = await resp.text()
    assert victim["card_code"] not in text and victim["number"] not in text
    assert (await resp.json())["status"] == "confirm_by_email"
    assert (await cloud.card(victim["card_code"]))["balance"] == 0
    fresh = await cloud.http.post(f"/v1/claims/{token}", json={"email": "new@example.com"})
    assert fresh.status == 201 and (await fresh.json())["card_code"] != victim["card_code"]


async def test_given_only_a_card_code_then_no_vouchers_no_link_and_no_claim_onto_it(
    cloud: Cloud,
) -> None:
    """A card code is printed and shown at the till: alone it opens nothing (no rewards list,
    no claim that returns the card's reward codes or private link, no phone cookie)."""
    await cloud.set_program(goal=1, reward="voucher")
    victim = await cloud.customer("v2@example.com")
    code = victim["card_code"]
    await cloud.post_events([event("order.stamped", order("V-1", 1, {"card": code}))])
    assert len((await cloud.card(code))["rewards"]) == 1  # with the admin key
    assert (await cloud.http.get(f"/v1/cards/{code}")).status == 401
    assert (await cloud.http.get(f"/v1/cards/{code}?sig={'0' * 24}")).status == 401
    assert (await cloud.http.get(f"/v1/cards/{code}", params={"sig": "\u00e9" * 24})).status == 401
    other = await cloud.http.get(f"/v1/cards/{code}", headers=await _other_business_admin(cloud))
    assert other.status == 401
    sig = await cloud.card_sig(code)
    assert (await cloud.http.get(f"/v1/cards/{code}?sig={sig}")).status == 200
    await cloud.post_events([qr_issued("V-2", 1, START + timedelta(days=1))])
    token = cloud.token("V-2", 1)
    resp = await cloud.http.post(f"/v1/claims/{token}", json={"card_code": code})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "unknown_card"
    # the phone's cookie naming the code without its signature is no card at all
    cloud.http.session.cookie_jar.update_cookies({"stampedge_card": code})
    page = await cloud.http.get("/card")
    assert page.status == 404 and code not in await page.text()
    done = await cloud.http.post(f"/C/{token}")
    html = await done.text()
    assert done.status == 200 and code not in html and sig not in html
    assert (await cloud.card(code))["balance"] == 0  # landed on a new card, not the victim's
    cloud.http.session.cookie_jar.update_cookies({"stampedge_card": f"{code}.{sig}"})
    assert (await cloud.http.get("/card")).status == 200  # the real holder's phone


async def _other_business_admin(cloud: Cloud) -> dict[str, str]:
    link = await init_business(cloud.store, business="Other", branch="B", rule="per_order",
                               step=Decimal("10"), goal=10, now=cloud.clock.now)  # fmt: skip
    return {"Authorization": f"Bearer {link['admin_key']}"}


async def _until_429(send: Callable[[int], Awaitable[ClientResponse]], most: int) -> int:
    """Send guesses until one is answered 429 (with a Retry-After); how many were sent."""
    for i in range(1, most + 1):
        resp = await send(i)
        if resp.status == 429:
            assert int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["error"]["code"] == "too_many_requests"
            return i
    raise AssertionError(f"no 429 after {most} guesses")


async def test_given_a_guesser_then_each_kind_of_guess_is_throttled_per_client(
    cloud: Cloud,
) -> None:
    """Card signatures, admin keys at sign-in, bearer keys, claim tokens and customer numbers
    were open to thousands of tries a second: now 429 with Retry-After after a few dozen
    failures, and then even a right guess is refused to that client."""
    http = cloud.http
    code = (await cloud.customer("g@example.com"))["card_code"]
    sent = await _until_429(lambda i: http.get(f"/card/{code}/{i:024x}"), 100)
    assert sent <= 25
    right = await http.get(f"/card/{code}/{await cloud.card_sig(code)}")
    assert right.status == 429
    sent = await _until_429(lambda i: http.post("/dashboard/login", data={"key": f"ak_1_{i}"}), 50)
    assert sent <= 12
    sent = await _until_429(
        lambda i: http.get("/v1/devices", headers={"Authorization": f"Bearer ak_1_x{i}"}), 100
    )
    assert sent <= 25
    assert (await http.get("/v1/devices", headers=cloud.admin())).status == 429
    stale = cloud.token("none", 1, secret="a-forged-secret-of-length")
    sent = await _until_429(lambda i: http.post(f"/v1/claims/{stale[:-2]}{i:02d}"), 100)
    assert sent <= 25


async def test_given_six_digit_numbers_tried_then_lookups_are_throttled(cloud: Cloud) -> None:
    dev = cloud.device()
    sent = await _until_429(
        lambda i: cloud.http.get(f"/v1/customers?q={100000 + i}", headers=dev), 200
    )
    assert 50 <= sent <= 65


async def test_given_an_unknown_device_or_a_bad_signature_then_the_same_words(
    cloud: Cloud,
) -> None:
    """No oracle for which device ids exist: both refusals read alike."""
    bad_sig = cloud.token("W-1", 1, secret="not-the-device-secret-at-all")
    unknown = cloud.token("W-1", 1, device_id=4242)
    answers = [await (await cloud.http.post(f"/v1/claims/{t}")).json() for t in (bad_sig, unknown)]
    assert answers[0] == answers[1]


async def test_given_a_new_or_old_sqlite_store_then_its_files_are_private(tmp_path: Path) -> None:
    """cloud.db holds device secrets and the card-link key: 0600 in a 0700 folder, -wal and
    -shm too; a file left 0644 by an older release is narrowed when the store opens."""
    path = tmp_path / "var" / "cloud" / "cloud.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        await init_business(store, business="B", branch="M", rule="per_order", now=START)
    finally:
        await store.close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    for p in path.parent.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    os.chmod(path, 0o644)
    store = await open_store(f"sqlite:///{path}")
    await store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def _sign_in(cloud: Cloud, key: str) -> ClientResponse:
    return await cloud.http.post("/dashboard/login", data={"key": key}, allow_redirects=False)


async def test_given_a_dashboard_session_then_it_is_signed_expires_and_ends(cloud: Cloud) -> None:
    """The cookie once held the raw admin key. Now: a signed session that is no key, ends on
    sign-out (CSRF-checked), on admin-key rotation and after a working day."""
    key = cloud.link["admin_key"]
    resp = await _sign_in(cloud, key)
    assert resp.status == 303
    value = resp.cookies["stampedge_admin"].value
    assert key not in value and key.split("_", 2)[2] not in value
    as_key = await cloud.http.get("/v1/devices", headers={"Authorization": f"Bearer {value}"})
    assert as_key.status == 401
    page = await cloud.http.get("/dashboard")
    html = await page.text()
    assert page.status == 200 and 'id="sign-out"' in html
    csrf = html.split('name="csrf"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    # another site's page cannot sign the owner out, nor can a form without the token
    no_token = await cloud.http.post("/dashboard/logout", data={}, allow_redirects=False)
    assert no_token.status == 403
    out = await cloud.http.post("/dashboard/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    assert (await cloud.http.get("/dashboard")).status == 401
    # a copied cookie stops working when the admin key is rotated
    await _sign_in(cloud, key)
    assert (await cloud.http.get("/dashboard")).status == 200
    rotated = await cloud.http.post("/v1/admin-key", headers=cloud.admin())
    assert rotated.status == 201
    assert (await cloud.http.get("/dashboard")).status == 401
    new_key = (await rotated.json())["admin_key"]
    await _sign_in(cloud, new_key)
    assert (await cloud.http.get("/dashboard")).status == 200
    cloud.clock.advance(hours=8, seconds=1)
    assert (await cloud.http.get("/dashboard")).status == 401


async def test_given_text_or_numbers_the_agent_refuses_then_the_cloud_refuses_them_too(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("n@example.com")
    results = await cloud.post_events([event("order.recorded", order("N-1", 0, till="a\tb"))])
    assert results[0]["status"] == "rejected"
    for total in ("\u0661\u0662", "\uff11\uff10", "1_000", " 12", "1e3"):
        body = {"order_id": "S-1", "total": total, "customer": {"card": c["card_code"]}}
        resp = await cloud.http.post("/v1/stamps", json=body, headers=cloud.admin())
        assert resp.status == 422, total
    gz = {**cloud.admin(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    resp = await cloud.http.post("/v1/customers", data=b"not gzip", headers=gz)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unreadable_body"


async def test_given_the_claim_page_then_post_redirects_and_pages_are_not_cached(
    cloud: Cloud,
) -> None:
    """A refresh after claiming re-posted the form (201 page): now 303 to a GET, shown once;
    pages with codes are no-store under a strict CSP; the Server header names no version."""
    await cloud.post_events([qr_issued("R-1", 2, START + timedelta(days=1))])
    token = cloud.token("R-1", 2)
    offer = await cloud.http.get(f"/C/{token}")
    assert offer.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in offer.headers["Content-Security-Policy"]
    assert offer.headers["Server"] == "stampedge"
    assert offer.headers["X-Content-Type-Options"] == "nosniff"
    posted = await cloud.http.post(f"/C/{token}", allow_redirects=False)
    assert posted.status == 303 and posted.headers["Location"] == f"/C/{token}"
    shown = await cloud.http.get(f"/C/{token}")
    assert shown.status == 200 and 'id="added"' in await shown.text()
    assert shown.headers["Cache-Control"] == "no-store"
    wrong = await cloud.http.patch("/v1/stamps", json={})
    assert wrong.status == 405 and "POST" in wrong.headers["Allow"]
    assert (await cloud.http.head("/health")).status == 200


async def test_given_a_nearly_full_disk_then_health_says_so(cloud: Cloud, tmp_path: Path) -> None:
    settings = load_cloud_settings(
        None, {"cloud": {"database": f"sqlite:///{tmp_path / 'c.db'}", "min_free_disk_mb": 10**9}}
    )
    app = build_cloud_app(settings, store=cloud.store, clock=cloud.clock)
    async with TestClient(TestServer(app)) as http:
        resp = await http.get("/health")
        assert resp.status == 503 and (await resp.json())["error"]["code"] == "disk_low"


async def test_given_another_branchs_device_then_it_cannot_redeem_this_branchs_voucher(
    cloud: Cloud,
) -> None:
    await cloud.set_program(goal=1, reward="voucher", rule="per_order")
    c = await cloud.customer("b@example.com")
    await cloud.post_events([event("order.stamped", order("BR-1", 1, {"card": c["card_code"]}))])
    code = (await cloud.card(c["card_code"]))["rewards"][0]["code"]
    body = {"name": "Harbour", "timezone": "Europe/Berlin"}
    made = await cloud.http.post("/v1/branches", json=body, headers=cloud.admin())
    branch = (await made.json())["branch_id"]
    dev = await cloud.http.post("/v1/devices", json={"branch_id": branch}, headers=cloud.admin())
    other = {"Authorization": f"Bearer {(await dev.json())['device_key']}"}
    resp = await cloud.http.post(f"/v1/vouchers/{code}/redeem", headers=other)
    assert resp.status == 404
    assert (await cloud.card(c["card_code"]))["rewards"][0]["state"] != "redeemed"
    own = await cloud.http.post(f"/v1/vouchers/{code}/redeem", headers=cloud.device())
    assert own.status == 200
