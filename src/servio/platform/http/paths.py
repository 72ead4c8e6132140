"""Path groups the request gates share: probes, inbound webhooks, admin surfaces."""

from __future__ import annotations

from collections.abc import Iterable

# Liveness, readiness (and their short aliases) and metrics: orchestrators and scrapers
# call these constantly; no gate may refuse them.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/health", "/ready", "/metrics"})

# Providers deliver events here; they verify their own signatures and must be recorded
# even when the API is otherwise closed.
INBOUND_WEBHOOK_PREFIXES = ("/webhooks", "/v1/stripe/webhook")

ADMIN_PREFIXES = ("/admin", "/v1/admin")


def under(path: str, prefixes: Iterable[str]) -> bool:
    """``path`` is one of ``prefixes`` or below one (``/admin`` and ``/admin/x``, never
    ``/administrator``)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def is_probe(path: str) -> bool:
    return path in PROBE_PATHS


def is_inbound_webhook(path: str) -> bool:
    return under(path, INBOUND_WEBHOOK_PREFIXES)
