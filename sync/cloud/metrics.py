"""Prometheus metrics of one cloud app, in its own registry (two apps never share counters).

Beside the request counters and latency histograms by route, what an operator of a fleet needs
to see the next doubling coming: events per batch, state pulls answered 304, the key cache's
hits, misses and size, batches waiting for the SQLite writer and the PostgreSQL pool's
connections in use (read from the store at each scrape: ``StoreLoad``).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(frozen=True)
class StoreLoad:
    """The store's gauges at one moment (``Store.load()``)."""

    key_hits: int
    key_misses: int
    keys_cached: int
    keys_trusted: bool
    batches_waiting: int  # SQLite: batches queued for the writer; PostgreSQL: 0
    pool_open: int  # PostgreSQL connections open (SQLite: 0)
    pool_in_use: int
    group_commits: int = 0  # PostgreSQL: transactions that applied sync batches
    group_batches: int = 0  # ... and the batches they held


class _StoreCollector(Collector):
    """``StoreLoad`` as metrics, read when scraped."""

    def __init__(self, load: Callable[[], StoreLoad | None]) -> None:
        self._load = load

    def collect(self) -> Iterator[Metric]:
        load = self._load()
        if load is None:
            return
        keys = CounterMetricFamily(
            "stampedge_cloud_key_cache",
            "Key checks answered from the cache (hit) or the database (miss)",
            labels=["result"],
        )
        keys.add_metric(["hit"], load.key_hits)
        keys.add_metric(["miss"], load.key_misses)
        yield keys
        yield GaugeMetricFamily(
            "stampedge_cloud_key_cache_keys", "Keys in the cache", value=load.keys_cached
        )
        yield GaugeMetricFamily(
            "stampedge_cloud_key_cache_trusted",
            "1 while revocations from other processes are heard (0: cache bypassed)",
            value=int(load.keys_trusted),
        )
        yield GaugeMetricFamily(
            "stampedge_cloud_batches_waiting",
            "Event batches queued for the database writer",
            value=load.batches_waiting,
        )
        pool = GaugeMetricFamily(
            "stampedge_cloud_db_connections", "Database connections, by state", labels=["state"]
        )
        pool.add_metric(["open"], load.pool_open)
        pool.add_metric(["in_use"], load.pool_in_use)
        yield pool
        yield CounterMetricFamily(
            "stampedge_cloud_batch_commits",
            "PostgreSQL transactions that applied sync batches (group commit)",
            value=load.group_commits,
        )
        yield CounterMetricFamily(
            "stampedge_cloud_batch_commit_batches",
            "Sync batches those transactions held (over commits: the mean group size)",
            value=load.group_batches,
        )


class CloudMetrics:
    """Counters and timings for ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._store_load: Callable[[], StoreLoad | None] = lambda: None
        self.registry.register(_StoreCollector(lambda: self._store_load()))
        self.batch_events = Histogram(
            "stampedge_cloud_batch_events",
            "Events in one sync batch",
            buckets=(1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1000),
            registry=self.registry,
        )
        self.state_pulls = Counter(
            "stampedge_cloud_state_pulls_total",
            "GET /v1/sync/state answers: full, or not_modified (304 on If-None-Match)",
            ["result"],
            registry=self.registry,
        )
        self.events = Counter(
            "stampedge_cloud_events_total",
            "Events answered, by status",
            ["status"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "stampedge_cloud_batch_seconds",
            "Time to apply one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.claims = Counter(
            "stampedge_cloud_claims_total",
            "Receipt-QR claims, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "stampedge_cloud_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "stampedge_cloud_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.redeems = Counter(
            "stampedge_cloud_redeems_total",
            "Reward redeem attempts, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.poster_webhooks = Counter(
            "stampedge_cloud_poster_webhooks_total",
            "Poster webhooks taken, by outcome (stamped, already_counted, not_closed, ...)",
            ["outcome"],
            registry=self.registry,
        )

    def watch(self, load: Callable[[], StoreLoad | None]) -> None:
        """Read the store's gauges from ``load`` at each scrape."""
        self._store_load = load

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request, for ``sync.web.http_util.metrics_middleware``."""
        self.http_latency.labels(method, route).observe(seconds)
        self.http_requests.labels(method, route, str(status)).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
