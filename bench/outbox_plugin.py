"""The outbox bench's worker plugin (``SERVIO_WORKER_PLUGINS=outbox_plugin`` with this
folder on ``PYTHONPATH``): ``bench.http`` POSTs each message to ``payload["url"]`` with
its dedupe key as ``Idempotency-Key`` through the outbox's HTTP clients, as an
integration does; ``bench.noop`` does nothing, so a run of it measures the database floor."""

from __future__ import annotations

import aiohttp

from servio.app.container import Container
from servio.platform.outbox import Delivery
from servio.platform.outbox.http import HttpClients


def register(container: Container) -> None:
    http = HttpClients(timeout=aiohttp.ClientTimeout(total=10.0, sock_connect=2.0))
    container.on_close.append(http.aclose)

    async def post(delivery: Delivery) -> None:
        response = await http.post(
            delivery.payload["url"],
            json=delivery.payload,
            headers={"Idempotency-Key": delivery.dedupe_key},
        )
        response.raise_for_status()

    async def noop(_delivery: Delivery) -> None:
        return None

    container.outbox.register("bench.http", post, provider="bench-sink", timeout_seconds=10)
    container.outbox.register("bench.noop", noop, timeout_seconds=10)
