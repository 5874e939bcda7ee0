"""The agent's state pull against the real cloud app: it sends back the ``ETag`` it was given,
so an unchanged state costs the cloud a 304, and a change still reaches the card cache."""

from pathlib import Path

from agent.orders.program_source import ProgramSource, program_from_settings
from config import ProgramSettings
from sync.cloud.store import open_store
from sync.edge.client import CloudClient
from sync.edge.outbox import Outbox
from sync.edge.state_pull import CURSOR_KEY, StatePuller, kv_get
from tests.clock import Clock
from tests.sync.cloud.conftest import start_cloud
from tests.sync.cloud.test_key_cache import counter


async def test_given_an_unchanged_state_then_the_next_pull_is_a_304_and_a_change_still_lands(
    outbox: Outbox, tmp_path: Path
) -> None:
    """Given an agent that pulled the cloud's state, when it pulls again with nothing changed,
    then the cloud answers 304 (its metrics say so) and the cache and cursor stay; when a card
    is made in the cloud, then the next pull stores it, and the pulls after it are 304s."""
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    http, link = await start_cloud(store, Clock())
    client = CloudClient(str(http.make_url("")).rstrip("/"), link["device_key"], timeout_s=5.0)
    try:
        source = ProgramSource(program_from_settings(ProgramSettings()))
        puller = StatePuller(outbox, client, source.update)
        assert await puller.pull_once() == 0
        cursor = await kv_get(outbox, CURSOR_KEY)
        assert source.current.rule == "per_order"  # the cloud's program, not the config's
        assert await puller.pull_once() == 0
        metrics = await (await http.get("/metrics")).text()
        pulls = "stampedge_cloud_state_pulls_total"
        assert counter(metrics, pulls, '{result="not_modified"}') == 1
        assert counter(metrics, pulls, '{result="full"}') == 1
        assert await kv_get(outbox, CURSOR_KEY) == cursor
        admin = {"Authorization": f"Bearer {link['admin_key']}"}
        made = await http.post("/v1/customers", json={"email": "ann@example.com"}, headers=admin)
        assert made.status == 201
        assert await puller.pull_once() == 1
        row = await outbox.fetchone("SELECT email FROM cards")
        assert row is not None and row["email"] == "ann@example.com"
        # a 304 at once: the answer with the card carried a tag naming the cursor it left (it
        # used to have none, and the next pull was a full answer)
        assert await puller.pull_once() == 0
        assert await puller.pull_once() == 0
        metrics = await (await http.get("/metrics")).text()
        assert counter(metrics, pulls, '{result="not_modified"}') == 3
        assert counter(metrics, pulls, '{result="full"}') == 2
    finally:
        await client.close()
        await http.close()
        await store.close()
