"""The agent's Prometheus metrics: one registry per app, so tests and benchmarks can run many."""

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from sync.edge.outbox import OutboxCounts


class AgentMetrics:
    """The figures an operator alerts on: backlog, its age, sync errors, print and scan outcomes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        r = self.registry
        self.http_requests = Counter(
            "stampedge_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "stampedge_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.orders = Counter("stampedge_orders", "Orders by outcome", ["outcome"], registry=r)
        self.scans = Counter("stampedge_scans", "Scans by outcome", ["outcome"], registry=r)
        self.quotes = Counter("stampedge_quotes", "Quotes by source", ["source"], registry=r)
        self.redeems = Counter(
            "stampedge_redeems", "Reward redeems by outcome and source", ["outcome"], registry=r
        )
        self.scan_rejections = Counter(
            "stampedge_scan_rejections", "Scans rejected, by reason", ["reason"], registry=r
        )
        self.autopilot_results = Counter(
            "stampedge_autopilot_results",
            "What became of Autopilot scans that waited for a check",
            ["result"],
            registry=r,
        )
        self.print_jobs = Counter(
            "stampedge_print_jobs",
            "Print jobs ended, by status and reason",
            ["status", "reason"],
            registry=r,
        )
        self.sync_batches = Counter(
            "stampedge_sync_batches", "Batches sent to the cloud, by result", ["result"], registry=r
        )
        self.sync_events = Counter(
            "stampedge_sync_events",
            "Events answered by the cloud, by status",
            ["status"],
            registry=r,
        )
        self.sync_errors = Counter(
            "stampedge_sync_errors", "Upload attempts that failed, by kind", ["kind"], registry=r
        )
        self.outbox_events = Gauge(
            "stampedge_outbox_events", "Events in the outbox by state", ["state"], registry=r
        )
        self.outbox_oldest = Gauge(
            "stampedge_outbox_oldest_pending_age_seconds",
            "Age of the oldest event not yet acknowledged by the cloud (0 when none)",
            registry=r,
        )
        self.cloud_reachable = Gauge(
            "stampedge_cloud_reachable", "1 if the last contact with the cloud worked", registry=r
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request (label children cached: ``labels()`` is costly on a hot path)."""
        key = (method, route, status)
        pair = self._request_children.get(key)
        if pair is None:
            pair = (
                self.http_latency.labels(method, route),
                self.http_requests.labels(method, route, str(status)),
            )
            self._request_children[key] = pair
        pair[0].observe(seconds)
        pair[1].inc()

    def set_outbox(self, counts: OutboxCounts) -> None:
        """Refresh the outbox gauges (done on every scrape)."""
        for state in ("pending", "sent", "acked", "dead"):
            self.outbox_events.labels(state).set(getattr(counts, state))
        self.outbox_oldest.set(counts.oldest_pending_age_s or 0.0)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
