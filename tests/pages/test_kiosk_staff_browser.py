"""The kiosk and staff pages in Chromium with a fake camera showing a card's QR code.

Kiosk: stamped, then the same card again hits the cooldown with its time left. Staff: the
scanned card is added to a till's next check and that check is stamped to it; a visit is
stamped by search. An unpaired device sees only the pairing form; a revoked one is sent back
to it. axe-core finds nothing serious or critical at 320 px and on a 10" landscape tablet.
"""

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from agent.http.state import DB
from sync.contract.card_code import new_card_code
from sync.contract.events import CardState
from sync.edge.state_pull import card_statements
from tests.agent.pairing_helpers import open_code
from tests.pages.a11y import check_accessibility
from tests.pages.camera import NARROW, TABLET, axe_violations, camera_browser, write_y4m

WAIT_MS = 20_000  # a bound for the page to see the code, never a measurement


async def _seed(agent: TestClient[Any, Any], card: str, balance: int = 3) -> None:
    """The card in the agent's cache, as a state pull from the cloud leaves it."""
    state = CardState(
        customer_id="cust-ana", card_code=card, number="482913", email="ana@example.com",
        name="Ana Lima", balance=balance,
    )  # fmt: skip
    await agent.app[DB].write(card_statements([state]))


async def _pair(agent: TestClient[Any, Any], context: Any, role: str) -> Any:
    """Pair a page of ``context`` by typing the status page's code; it lands on its page."""
    code = await open_code(agent, role)
    page = await context.new_page()
    await page.goto(str(agent.make_url("/pair")))
    await page.get_by_label("Pairing code").fill(code)
    await page.get_by_role("button", name="Pair").click()
    await page.wait_for_url(f"**/{role}")
    return page


async def _events(agent: TestClient[Any, Any], kind: str) -> int:
    rows = await agent.app[DB].fetchall("SELECT COUNT(*) AS n FROM outbox WHERE type = ?", (kind,))
    return int(rows[0]["n"])


async def test_given_a_card_at_the_kiosk_then_it_is_stamped_and_again_it_waits_with_time_left(
    agent: TestClient[Any, Any], tmp_path: Path, artifacts_dir: Path
) -> None:
    card = new_card_code()
    await _seed(agent, card, balance=3)
    # The card is held up for 1 s, taken away for 3 s, and shown again (the video loops).
    video = write_y4m(tmp_path / "card.y4m", [card] * 10 + [None] * 30)
    async with camera_browser(video) as browser:
        context = await browser.new_context(**TABLET)
        page = await _pair(agent, context, "kiosk")
        await page.goto(str(agent.make_url("/kiosk?reset=1500")))
        result = page.locator("#result")
        await expect(result).to_contain_text("1 stamp added", timeout=WAIT_MS)
        await expect(result).to_contain_text("4 of 10 stamps")
        assert await page.locator("#result-stamps .stamp.on").count() == 4
        assert await page.locator("#result-stamps .stamp").count() == 10
        await page.screenshot(path=str(artifacts_dir / "kiosk-stamped-tablet.png"))

        # The same card shown again on this visit is not stamped twice.
        await expect(result).to_contain_text("Already stamped", timeout=WAIT_MS)
        await expect(result).to_contain_text("Next stamp in 10 min")
        await page.screenshot(path=str(artifacts_dir / "kiosk-cooldown-tablet.png"))
        assert await page.locator("a").count() == 0  # nowhere to go from the kiosk
        assert await page.evaluate("document.body.dataset.decoder") in ("jsQR", "BarcodeDetector")
        await context.close()
    assert await _events(agent, "scan.stamped") == 1


async def test_given_staff_scan_a_card_and_add_it_to_the_next_check_then_that_check_is_stamped(
    agent: TestClient[Any, Any], tmp_path: Path, artifacts_dir: Path
) -> None:
    card = new_card_code()
    await _seed(agent, card)
    video = write_y4m(tmp_path / "card.y4m", [card] * 10)
    async with camera_browser(video) as browser:
        context = await browser.new_context(**NARROW)
        page = await _pair(agent, context, "staff")
        await expect(page.locator("#card")).to_contain_text("Ana Lima", timeout=WAIT_MS)
        await expect(page.locator("#card")).to_contain_text("3 of 10 stamps")
        await page.get_by_label("Till").fill("till-7")
        await page.get_by_role("button", name="Add to the till's next check").click()
        await expect(page.locator("#outcome")).to_contain_text("next check of till-7")
        await page.screenshot(path=str(artifacts_dir / "staff-attach-phone.png"), full_page=True)
        await context.close()

    resp = await agent.post(
        "/v1/orders", json={"order_id": "STAFF-1", "total": "12.00", "till": "till-7"}
    )
    order = await resp.json()
    assert resp.status == 201, order
    assert order["customer"]["card"] == card and order["autopilot"] is True
    assert order["claim"] is None  # the stamps went to the card, no receipt QR


async def test_given_staff_search_by_email_then_a_visit_is_stamped_in_manual_mode(
    agent: TestClient[Any, Any], tmp_path: Path
) -> None:
    card = new_card_code()
    await _seed(agent, card, balance=9)
    video = write_y4m(tmp_path / "empty.y4m", [None] * 5)
    async with camera_browser(video) as browser:
        context = await browser.new_context(**TABLET)
        page = await _pair(agent, context, "staff")
        await page.get_by_label("Card number, email or name").fill("ANA@example.com")
        await page.get_by_role("button", name="Find").click()
        await expect(page.locator("#card")).to_contain_text("Ana Lima")
        await page.get_by_role("button", name="Stamp a visit").click()
        await expect(page.locator("#outcome")).to_contain_text("1 stamp added")
        await expect(page.locator("#outcome")).to_contain_text("10 of 10 stamps")
        await context.close()
    rows = await agent.app[DB].fetchall("SELECT payload FROM outbox WHERE type = 'scan.stamped'")
    assert len(rows) == 1 and card in rows[0]["payload"]


async def test_given_an_unpaired_device_then_only_the_pairing_form_and_revoked_goes_back(
    agent: TestClient[Any, Any], tmp_path: Path, artifacts_dir: Path
) -> None:
    video = write_y4m(tmp_path / "empty.y4m", [None] * 5)
    async with camera_browser(video) as browser:
        context = await browser.new_context(**NARROW)
        page = await context.new_page()
        for path in ("/kiosk", "/staff"):
            await page.goto(str(agent.make_url(path)))
            await expect(page.get_by_label("Pairing code")).to_be_visible()
            assert await page.locator("video, a").count() == 0
        await page.screenshot(path=str(artifacts_dir / "pair-form-phone.png"), full_page=True)

        page = await _pair(agent, context, "kiosk")
        await expect(page.locator("video")).to_be_visible()
        status = await (await agent.get("/")).text()
        session_id = status.split('action="/pairing/sessions/')[1].split("/revoke")[0]
        await agent.post(f"/pairing/sessions/{session_id}/revoke", allow_redirects=False)
        await page.reload()
        await expect(page.get_by_role("status")).to_contain_text("This device was unpaired")
        assert await page.locator("video").count() == 0
        await context.close()


async def test_given_both_pages_at_320px_and_on_a_tablet_then_axe_finds_nothing_serious(
    agent: TestClient[Any, Any], tmp_path: Path, artifacts_dir: Path
) -> None:
    card = new_card_code()
    await _seed(agent, card)
    video = write_y4m(tmp_path / "card.y4m", [card] * 10)
    async with camera_browser(video) as browser:
        for name, size in (("phone", NARROW), ("tablet", TABLET)):
            context = await browser.new_context(**size, bypass_csp=True)  # to inject axe
            staff = await _pair(agent, context, "staff")
            await expect(staff.locator("#card")).to_contain_text("Ana Lima", timeout=WAIT_MS)
            kiosk = await _pair(agent, context, "kiosk")
            await kiosk.goto(str(agent.make_url("/kiosk?reset=30000")))
            await expect(kiosk.locator("#result")).to_be_visible(timeout=WAIT_MS)
            pair = await context.new_page()
            await pair.goto(str(agent.make_url("/pair")))
            for label, page in (("staff", staff), ("kiosk-result", kiosk), ("pair", pair)):
                await page.screenshot(
                    path=str(artifacts_dir / f"a11y-{label}-{name}.png"), full_page=True
                )
                assert await axe_violations(page) == [], f"{label} at {name}"
                await check_accessibility(page)
            await kiosk.get_by_role("status").first.click()  # back to the camera
            await expect(kiosk.locator("#result")).to_be_hidden()
            assert await axe_violations(kiosk) == []
            await kiosk.screenshot(path=str(artifacts_dir / f"a11y-kiosk-{name}.png"))
            await context.close()
