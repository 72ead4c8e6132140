"""A worker plugin (``SERVIO_WORKER_PLUGINS=tests.support.outbox_sink``) adding the
outbox kind ``test.sink_post``: POST the payload to ``payload["url"]`` with the
message's dedupe key as ``Idempotency-Key``, as a provider integration does."""

from __future__ import annotations

import aiohttp

from servio.app.container import Container
from servio.platform.outbox import Delivery, PermanentFailure, RetryLater
from servio.platform.outbox.http import HttpClients

KIND = "test.sink_post"
PROVIDER = "test-sink"
TIMEOUT_SECONDS = 3.0


def register(container: Container) -> None:
    http = HttpClients(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS, sock_connect=1.0))
    container.on_close.append(http.aclose)

    async def post_to_sink(delivery: Delivery) -> None:
        response = await http.post(
            delivery.payload["url"],
            json=delivery.payload,
            headers={"Idempotency-Key": delivery.dedupe_key},
        )
        if response.status_code == 429:
            raise RetryLater("the sink asks to slow down")
        if 400 <= response.status_code < 500:
            raise PermanentFailure(f"the sink refused the message ({response.status_code})")
        response.raise_for_status()

    container.outbox.register(
        KIND, post_to_sink, provider=PROVIDER, timeout_seconds=TIMEOUT_SECONDS
    )
