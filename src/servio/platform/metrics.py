"""Prometheus metrics: a registry per app (so tests can build many apps), request
counts and latency by method, route template and status, in-flight requests, requests
let through when the rate-limit store failed, and the process collector."""

from __future__ import annotations

import bisect
import functools
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.types import Scope

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_template(scope: Scope) -> str:
    """The matched route's path template, never the raw path (ids would explode labels)."""
    route = scope.get("route")
    if route is None:
        return "<unmatched>"
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not path:
        return "<unmatched>"
    root = scope.get("root_path")
    return f"{root}{path}" if root else str(path)


class _Series:
    """One method, route and status: requests, their latency histogram, created at."""

    __slots__ = ("buckets", "count", "created", "total")

    def __init__(self, buckets: int) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * buckets
        self.created = time.time()


class HttpMetrics(Collector):
    """``servio_http_requests_total``, ``servio_http_request_duration_seconds`` and
    ``servio_http_requests_in_flight``, exposed exactly as prometheus_client's Counter,
    Histogram and Gauge would expose them, but counted with plain integers: they are
    updated on every request, from the event loop's thread only, where the library's
    per-update locks and checks cost more than the counting."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = buckets
        self._le = [*(floatToGoString(b) for b in buckets), "+Inf"]  # type: ignore[no-untyped-call]
        self._series: dict[tuple[str, str, int], _Series] = {}
        self.in_flight = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:  # bounded: route templates x methods x statuses
            series = self._series[key] = _Series(len(self._le))
        series.count += 1
        series.total += seconds
        series.buckets[bisect.bisect_left(self.bounds, seconds)] += 1

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        requests, latency, in_flight = self._families()
        created = getattr(prometheus_metrics, "_use_created", True)
        for (method, route, status), series in list(self._series.items()):
            labels = {"method": method, "route": route, "status": str(status)}
            requests.add_sample(requests.name + "_total", labels, float(series.count))
            if created:
                requests.add_sample(requests.name + "_created", labels, series.created)
            cumulative = 0
            for le, count in zip(self._le, series.buckets, strict=True):
                cumulative += count
                latency.add_sample(
                    latency.name + "_bucket", {**labels, "le": le}, float(cumulative)
                )
            latency.add_sample(latency.name + "_count", labels, float(series.count))
            latency.add_sample(latency.name + "_sum", labels, series.total)
            if created:
                latency.add_sample(latency.name + "_created", labels, series.created)
        in_flight.add_sample(in_flight.name, {}, float(self.in_flight))
        return [requests, latency, in_flight]

    @staticmethod
    def _families() -> list[Metric]:
        return [
            Metric("servio_http_requests", "HTTP requests answered", "counter"),
            Metric(
                "servio_http_request_duration_seconds",
                "Time to answer an HTTP request",
                "histogram",
            ),
            Metric("servio_http_requests_in_flight", "HTTP requests being answered now", "gauge"),
        ]


class Metrics:
    """The process's metrics; ``render()`` gives the Prometheus text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http = HttpMetrics()
        self.registry.register(self.http)
        self.ratelimit_errors = Counter(
            "servio_ratelimit_errors_total",
            "Requests let through without a rate-limit check because the store failed",
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "servio_webhook_events_rejected_total",
            "Inbound webhook bodies acknowledged but rejected (malformed), by provider",
            ["provider"],
            registry=self.registry,
        )

    def watch_pool(self, pool: Any) -> None:
        watch_pool(self, pool)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http.observe(method, route, status, seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _pool_stat(pool: Any, name: str) -> float:
    stat = getattr(pool, name, None)
    return float(stat()) if callable(stat) else 0.0


def watch_pool(metrics: Metrics, pool: Any) -> None:
    """Expose the database pool's size and use as ``servio_db_pool_*`` gauges."""
    for stat, help_text in (
        ("size", "Connections the pool keeps"),
        ("checkedout", "Connections in use"),
        ("overflow", "Connections beyond the pool size"),
    ):
        gauge = Gauge(f"servio_db_pool_{stat}", help_text, registry=metrics.registry)
        gauge.set_function(functools.partial(_pool_stat, pool, stat))
