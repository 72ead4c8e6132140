"""Prometheus metrics: a registry per app (so tests can build many apps), request
counts and latency by method, route template and status, in-flight requests, requests
let through when the rate-limit store failed, and the process collector."""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.types import Scope

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_template(scope: Scope) -> str:
    """The matched route's path template, never the raw path (ids would explode labels)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(scope.get("root_path", "")) + str(path)
    return "<unmatched>"


class Metrics:
    """The process's metrics; ``render()`` gives the Prometheus text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "servio_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "servio_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.in_flight = Gauge(
            "servio_http_requests_in_flight",
            "HTTP requests being answered now",
            registry=self.registry,
        )
        self.ratelimit_errors = Counter(
            "servio_ratelimit_errors_total",
            "Requests let through without a rate-limit check because the store failed",
            registry=self.registry,
        )

    def watch_pool(self, pool: Any) -> None:
        watch_pool(self, pool)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # bounded: route templates x methods x statuses
            labels = (method, route, str(status))
            children = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

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
