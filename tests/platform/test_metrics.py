"""The HTTP metrics are exposed exactly as prometheus_client's own metric types would
expose them."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from servio.platform.metrics import LATENCY_BUCKETS, HttpMetrics

_OBSERVED = [
    ("GET", "/healthz", 200, 0.0012),
    ("GET", "/healthz", 200, 0.005),  # on a bucket bound
    ("GET", "/healthz", 200, 0.02),
    ("POST", "/v1/bookings", 201, 0.3),
    ("POST", "/v1/bookings", 500, 3.0),
    ("GET", "<unmatched>", 404, 42.0),  # beyond the last bound
]


def _exposition(registry: CollectorRegistry) -> str:
    text = generate_latest(registry).decode()
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 <time>", text)


def test_http_metrics_render_as_counter_histogram_and_gauge() -> None:
    reference = CollectorRegistry()
    requests = Counter(
        "servio_http_requests_total",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=reference,
    )
    latency = Histogram(
        "servio_http_request_duration_seconds",
        "Time to answer an HTTP request",
        ["method", "route", "status"],
        buckets=LATENCY_BUCKETS,
        registry=reference,
    )
    in_flight = Gauge(
        "servio_http_requests_in_flight", "HTTP requests being answered now", registry=reference
    )
    ours = CollectorRegistry()
    http = HttpMetrics()
    ours.register(http)
    for method, route, status, seconds in _OBSERVED:
        requests.labels(method, route, str(status)).inc()
        latency.labels(method, route, str(status)).observe(seconds)
        http.observe(method, route, status, seconds)
    in_flight.inc(2)
    http.in_flight += 2
    assert _exposition(ours) == _exposition(reference)
