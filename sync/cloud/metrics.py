"""Prometheus metrics of one cloud app, in its own registry (two apps never share counters)."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class CloudMetrics:
    """Counters and timings for ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request, for ``sync.web.http_util.metrics_middleware``."""
        self.http_latency.labels(method, route).observe(seconds)
        self.http_requests.labels(method, route, str(status)).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
