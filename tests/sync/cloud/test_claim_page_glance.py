"""Issue #21 on both backends: every page a receipt opens names its shop (never for a forged
code), a claim that fills a card answers with that card full and the new one, and the program
an agent pulls carries the shop's name for its receipts."""

import re
from datetime import timedelta

from tests.sync.cloud.conftest import Cloud, qr_issued


def _shop(html: str) -> str | None:
    found = re.search(r'id="shop">([^<]*)<', html)
    return found.group(1) if found else None


async def test_given_receipts_when_opened_then_each_page_names_the_shop_but_a_forgery(
    cloud: Cloud,
) -> None:
    """Given a genuine receipt, when its page is opened, claimed, opened again and, for
    another, opened after it expired, then each page names the shop "Cafe"; a forged code's
    page names nobody."""
    await cloud.post_events([qr_issued("S-1", 2, cloud.clock.now + timedelta(days=1))])
    token = cloud.token("S-1", 2)
    offer = await cloud.http.get(f"/C/{token}")
    assert offer.status == 200 and _shop(await offer.text()) == "Cafe"
    claimed = await cloud.http.post(f"/C/{token}", allow_redirects=False)
    assert claimed.status == 303
    done = await cloud.http.get(f"/C/{token}")
    assert done.status == 200 and _shop(await done.text()) == "Cafe"
    again = await cloud.http.get(f"/C/{token}")  # a refresh: the stamps are not added twice
    html = await again.text()
    assert again.status == 409 and _shop(html) == "Cafe"
    assert 'href="/card"' in html  # this phone keeps the card: one tap to it

    await cloud.post_events([qr_issued("S-2", 1, cloud.clock.now + timedelta(hours=2))])
    late = cloud.token("S-2", 1, ttl_hours=2)
    cloud.clock.advance(hours=3)
    expired = await cloud.http.get(f"/C/{late}")
    assert expired.status == 410 and _shop(await expired.text()) == "Cafe"

    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused = await cloud.http.get(f"/C/{forged}")
    assert refused.status == 404 and _shop(await refused.text()) == "Stamp card"


async def test_given_a_card_at_8_when_a_receipt_of_6_is_claimed_then_full_card_then_new(
    cloud: Cloud,
) -> None:
    """Given a phone whose card holds 8 of 10, when it claims a receipt of 6, then the answer
    draws a card of 10 of 10 (2 of them new) before the new card at 4 of 10."""
    for order_id, stamps in (("F-1", 8), ("F-2", 6)):
        await cloud.post_events([qr_issued(order_id, stamps, cloud.clock.now + timedelta(days=1))])
        token = cloud.token(order_id, stamps)
        assert (await cloud.http.post(f"/C/{token}", allow_redirects=False)).status == 303
    html = await (await cloud.http.get(f"/C/{token}")).text()
    completed = html[html.index('id="completed"') : html.index('id="progress"')]
    assert "Card complete: 10 of 10 stamps" in completed
    assert completed.count('class="stamp on') == 10
    assert completed.count('class="stamp on fresh"') == 2
    assert html.index('id="completed"') < html.index('id="reward"') < html.index('id="progress"')
    current = html[html.index('id="progress"') :]
    assert "4 of 10 stamps" in current and current.count('class="stamp on fresh"') == 4
    assert "4 stamps carried over to your new card" in current


async def test_the_program_an_agent_pulls_names_the_shop(cloud: Cloud) -> None:
    """Given business "Cafe", when its device pulls the sync state, then the program carries
    ``shop: "Cafe"`` (the receipts' first line) and the branch's time zone."""
    resp = await cloud.http.get("/v1/sync/state", headers=cloud.device())
    state = await resp.json()
    assert resp.status == 200 and state["program"]["shop"] == "Cafe"
    assert state["timezone"]
