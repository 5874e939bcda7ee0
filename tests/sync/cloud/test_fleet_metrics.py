"""``/metrics`` for a fleet's operator: events per batch, batches waiting, database connections."""

from tests.sync.cloud.conftest import Cloud, event, order
from tests.sync.cloud.test_key_cache import counter


async def test_given_batches_of_one_and_three_then_metrics_show_their_sizes_and_the_pool(
    cloud: Cloud,
) -> None:
    """Given a device posting a batch of one event and one of three, when /metrics is read,
    then the batch-size histogram holds both, nothing waits for the database, and on
    PostgreSQL the pool's open connections are shown (at least the one in use for reads)."""
    await cloud.post_events([event("order.recorded", order("M-1"))])
    await cloud.post_events([event("order.recorded", order(f"M-2-{i}")) for i in range(3)])
    text = await (await cloud.http.get("/metrics")).text()
    sizes = "stampedge_cloud_batch_events"
    assert counter(text, f"{sizes}_count") == 2
    assert counter(text, f"{sizes}_sum") == 4
    assert counter(text, f"{sizes}_bucket", '{le="1.0"}') == 1
    assert counter(text, f"{sizes}_bucket", '{le="3.0"}') == 2
    assert counter(text, "stampedge_cloud_batches_waiting") == 0
    opened = counter(text, "stampedge_cloud_db_connections", '{state="open"}')
    if cloud.store.dialect == "postgresql":
        assert opened >= 1
        assert counter(text, "stampedge_cloud_batch_commit_batches_total") == 2
    else:
        assert opened == 0
