"""Every kiosk page names the shop (as the cloud sends it), escaped: the paired kiosk's page
and the answer shown over it, and the pairing form an unpaired kiosk sees."""

from html import escape
from pathlib import Path

from tests.agent.conftest import AgentFactory
from tests.agent.pairing_helpers import device_headers, pair
from tests.agent.real_cloud import real_cloud, synced

SHOP = 'Kawa & Co <script>alert("x")</script>'


async def test_given_a_shop_name_with_markup_then_every_kiosk_page_shows_it_escaped(
    make_agent: AgentFactory, tmp_path: Path
) -> None:
    """Given a business named with ``<script>`` in it and an agent synced to it, when a kiosk
    opens /kiosk unpaired and then paired, then both pages show the name as text (escaped),
    atop the page and atop the answer's overlay, and no script tag from it reaches the page."""
    async with real_cloud(tmp_path, business=SHOP) as cloud:
        agent = await make_agent(cloud=cloud.agent_section())
        await synced(agent)
        unpaired = await (await agent.get("/kiosk")).text()
        token = await pair(agent, "kiosk", name="Door")
        paired = await (await agent.get("/kiosk", headers=device_headers(token))).text()
    shown = f'<p class="shop" id="shop">{escape(SHOP)}</p>'
    assert shown in unpaired and '<form method="post" action="/pair">' in unpaired
    assert shown in paired and "<video" in paired
    assert f'<p class="shop" id="result-shop">{escape(SHOP)}</p>' in paired
    assert "<script>alert" not in unpaired + paired
