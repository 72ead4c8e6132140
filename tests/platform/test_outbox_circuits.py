"""Circuit breakers per provider, configured by SERVIO_CIRCUIT_FAILURE_THRESHOLD and
SERVIO_CIRCUIT_COOLDOWN_SECONDS: an open circuit keeps its provider's messages unclaimed
(attempts not spent) and shows in /readyz; after the cooldown one probe goes through
and a success closes it, in this worker or in one started later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from servio.app.container import Container
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.outbox import (
    Delivery,
    Dispatcher,
    OutboxMessage,
    PermanentFailure,
    ProviderCircuit,
    add,
)
from tests.conftest import make_settings
from tests.support.app import app_client

KIND, PROVIDER = "test.sms", "sms-gateway"
COOLDOWN = 1.0  # long enough that a loaded machine checks the open state inside it


class Gateway:
    """A provider the test switches between down and up, counting calls."""

    def __init__(self) -> None:
        self.up = False
        self.calls: list[str] = []
        self.refuse: set[str] = set()

    async def send(self, d: Delivery) -> None:
        self.calls.append(d.dedupe_key)
        if d.dedupe_key in self.refuse:
            raise PermanentFailure("not a mobile number")
        if not self.up:
            raise ConnectionError("gateway unreachable")


@pytest.fixture
def circuit_settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        db_url,
        var_dir=tmp_path / "var",
        circuit_failure_threshold=2,
        circuit_cooldown_seconds=COOLDOWN,
        outbox_backoff_base_seconds=0.001,
        outbox_concurrency=1,
    )


@pytest.fixture
async def container(circuit_settings: Settings, db: Database) -> AsyncIterator[Container]:
    container = Container.from_settings(circuit_settings)
    yield container
    await container.close()


def _dispatcher(container: Container, gateway: Gateway, worker_id: str = "w1") -> Dispatcher:
    if KIND not in container.outbox.routes:
        container.outbox.register(KIND, gateway.send, provider=PROVIDER)
    return container.dispatcher(worker_id)


async def _add_messages(db: Database, count: int) -> None:
    async with db.unit_of_work(system=True) as s:
        for n in range(count):
            await add(s, kind=KIND, payload={"n": n}, dedupe_key=f"sms-{n}")


async def _state(db: Database) -> tuple[str | None, dict[str, tuple[str, int]]]:
    async with db.unit_of_work(system=True) as s:
        circuit = await s.get(ProviderCircuit, PROVIDER)
        rows = (await s.scalars(select(OutboxMessage))).all()
    return (circuit.state if circuit else None), {
        r.dedupe_key: (r.status, r.attempts) for r in rows
    }


async def _providers_check(settings: Settings) -> dict[str, Any]:
    async with app_client(settings) as client:
        body = (await client.get("/readyz")).json()
    check: dict[str, Any] = body["checks"]["providers"]
    return check


async def test_a_failing_provider_opens_then_a_probe_closes_it(
    container: Container, circuit_settings: Settings
) -> None:
    gateway, db = Gateway(), container.db
    dispatcher = _dispatcher(container, gateway)
    await _add_messages(db, 4)

    await dispatcher.drain_once()  # two failures open the circuit; the rest wait
    # Checked at once, well inside the cooldown: open, nothing of the provider is claimed.
    assert await dispatcher.drain_once() == 0
    circuit, rows = await _state(db)
    assert circuit == "open"
    assert sorted(rows.values()) == [("pending", 0), ("pending", 0), ("pending", 1), ("pending", 1)]
    assert await _providers_check(circuit_settings) == {
        "status": "degraded",
        "open": {PROVIDER: "open"},
    }

    await asyncio.sleep(COOLDOWN)  # half-open, still down: one probe, which re-opens
    calls = len(gateway.calls)
    await dispatcher.drain_once()
    assert len(gateway.calls) == calls + 1
    assert (await _state(db))[0] == "open"

    await asyncio.sleep(COOLDOWN)  # half-open, up again: the probe closes it
    gateway.up = True
    for _ in range(40):
        await dispatcher.drain()
        circuit, rows = await _state(db)
        if all(status == "done" for status, _ in rows.values()):
            break
        await asyncio.sleep(0.05)
    assert circuit == "closed"
    assert {status for status, _ in rows.values()} == {"done"}
    assert await _providers_check(circuit_settings) == {"status": "ok", "open": {}}


async def test_a_worker_started_later_respects_and_closes_an_open_circuit(
    container: Container,
) -> None:
    gateway, db = Gateway(), container.db
    await _add_messages(db, 2)
    await _dispatcher(container, gateway, "before-restart").drain_once()
    assert (await _state(db))[0] == "open"

    restarted = _dispatcher(container, gateway, "after-restart")
    calls = len(gateway.calls)
    await asyncio.sleep(0.05)
    assert await restarted.drain_once() == 0  # still cooling down: nothing claimed
    assert len(gateway.calls) == calls

    gateway.up = True
    await asyncio.sleep(COOLDOWN)
    await restarted.drain()
    circuit, rows = await _state(db)
    assert circuit == "closed"
    assert {status for status, _ in rows.values()} == {"done"}


async def test_a_refused_probe_lets_the_next_message_probe(container: Container) -> None:
    gateway, db = Gateway(), container.db
    dispatcher = _dispatcher(container, gateway)
    await _add_messages(db, 2)
    await dispatcher.drain_once()  # both fail: open
    gateway.up, gateway.refuse = True, {"sms-0"}
    async with db.unit_of_work(system=True) as s:  # sms-0 is due first: it probes
        for key, ago in (("sms-0", 2), ("sms-1", 1)):
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.dedupe_key == key)
                .values(next_attempt_at=utcnow() - timedelta(seconds=ago))
            )
    await asyncio.sleep(COOLDOWN)
    for _ in range(40):
        await dispatcher.drain()
        rows = (await _state(db))[1]
        if rows["sms-1"][0] == "done":
            break
        await asyncio.sleep(0.05)
    assert rows["sms-0"][0] == "dead"
    assert rows["sms-1"][0] == "done"
    assert (await _state(db))[0] == "closed"
