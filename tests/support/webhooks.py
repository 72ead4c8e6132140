"""Subscribing through the real API and running the outbox the way a worker does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from servio.platform.outbox import Dispatcher, OutboxMessage
from tests.support.app import app_of
from tests.support.identity import Account


async def drain(api: httpx.AsyncClient) -> int:
    """One worker pass over the outbox of ``api``'s app. Retries are due at once (the
    backoff is a millisecond), so a second pass makes the next attempt."""
    container = app_of(api).state.container
    dispatcher = Dispatcher(
        container.db,
        container.outbox,
        worker_id="test-worker",
        backoff_base_seconds=0.001,
        backoff_cap_seconds=0.001,
    )
    await asyncio.sleep(0.01)
    return await dispatcher.drain()


async def subscribe(
    api: httpx.AsyncClient, who: Account, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    r = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": url, "events": events or ["booking.confirmed"]},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def outbox_rows(api: httpx.AsyncClient, kind: str) -> list[OutboxMessage]:
    db = app_of(api).state.container.db
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.created_at)
        )
        return list(rows)
