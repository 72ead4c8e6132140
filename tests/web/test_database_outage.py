"""A database outage through a TCP proxy on PostgreSQL: while connections are reset and
while they are held silent, requests answer 503 ``service-unavailable`` with Retry-After
within the statement timeout, never a 500 or a hang; when the database returns, the same
app serves again and the worker, alive all along, delivers what waited. Nothing is lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, make_url, select

from servio.domains.intake.models import Lead
from servio.platform.db import Database
from servio.platform.outbox import Delivery, OutboxMessage, add
from servio.platform.worker import Worker
from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.orgs import add_org
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

STATEMENT_TIMEOUT_MS = 1000
CONNECT_TIMEOUT_SECONDS = 0.5
# A request waits at most for one stalled statement (or a stalled check of a pooled
# connection and one connect attempt), then answers: the statement timeout + a margin.
SLOWEST_SECONDS = STATEMENT_TIMEOUT_MS / 1000 + 1.0
KIND = "test.outage_note"


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[TcpProxy]:
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.cut()


def _via(proxy: TcpProxy, pg_url: str) -> str:
    return make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)


class Leads:
    """Posts leads and keeps what the app answered."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.created: list[str] = []

    async def post(self, *, key: str | None = None) -> httpx.Response:
        body = {"name": "Jo Doe", "email": f"jo-{uuid.uuid4().hex[:8]}@example.com"}
        headers = {"Idempotency-Key": key} if key else {}
        started = time.monotonic()
        response = await self.api.post("/v1/leads?org=shine", json=body, headers=headers)
        took = time.monotonic() - started
        assert took < SLOWEST_SECONDS, f"a request took {took:.1f}s"
        assert response.status_code != 500, response.text
        if response.status_code == 201:
            self.created.append(response.json()["id"])
        return response

    async def refused_while_down(self, count: int) -> None:
        # A keyed POST meets the database first in the idempotency middleware.
        keyed = self.post(key=f"outage-{uuid.uuid4().hex}")
        for response in await asyncio.gather(keyed, *(self.post() for _ in range(count))):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"] == "/problems/service-unavailable"
            assert int(response.headers["Retry-After"]) >= 1

    async def served_again(self, count: int) -> None:
        for _ in range(count):
            response = await self.post()
            assert response.status_code == 201, response.text


async def _queue(db: Database, keys: list[str]) -> None:
    async with db.unit_of_work(system=True) as s:
        for key in keys:
            await add(s, kind=KIND, payload={"key": key}, dedupe_key=key)


async def _wait_until(what: str, check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_an_outage_answers_503_and_the_app_and_worker_recover(
    pg_url: str, pg_db: Database, proxy: TcpProxy, tmp_path: object
) -> None:
    async with pg_db.unit_of_work(system=True) as s:
        await add_org(s, "shine")
    settings = make_settings(
        _via(proxy, pg_url),
        var_dir=f"{tmp_path}/var",
        rate_limit_enabled=False,
        database_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        database_statement_timeout_ms=STATEMENT_TIMEOUT_MS,
        worker_heartbeat_seconds=0.2,
        worker_error_backoff_cap_seconds=0.5,
    )
    delivered: list[str] = []
    async with app_client(settings, raise_errors=False) as api:
        container = app_of(api).state.container

        async def note(delivery: Delivery) -> None:
            delivered.append(delivery.payload["key"])

        container.outbox.register(KIND, note)
        worker: Worker = container.worker()
        worker.idle_sleep_seconds = 0.05
        running = asyncio.create_task(worker.run())
        leads = Leads(api)
        await leads.served_again(3)
        await _queue(pg_db, ["before"])

        await proxy.cut()  # connections reset, new ones refused
        await leads.refused_while_down(5)
        await _queue(pg_db, [f"cut-{n}" for n in range(20)])  # the worker cannot see them
        await asyncio.sleep(0.6)  # heartbeats and passes fail meanwhile
        assert not running.done(), "the worker died during the cut"
        await proxy.start()
        await leads.served_again(3)

        await proxy.hold()  # connections accepted, nothing answered
        await leads.refused_while_down(5)
        await _queue(pg_db, [f"hold-{n}" for n in range(20)])
        assert not running.done(), "the worker died during the hold"
        await proxy.start()
        await leads.served_again(3)

        async def all_done() -> bool:
            async with pg_db.unit_of_work(system=True) as s:
                waiting = await s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != "done")
                )
            return waiting == 0

        await _wait_until("the queued messages to be delivered", all_done)
        assert not running.done()
        worker.stop()
        await asyncio.wait_for(running, 10)

    assert sorted(set(delivered)) == sorted(
        ["before", *(f"cut-{n}" for n in range(20)), *(f"hold-{n}" for n in range(20))]
    )
    async with pg_db.unit_of_work(system=True) as s:
        stored = {str(i) for i in await s.scalars(select(Lead.id))}
    assert stored == set(leads.created)
    assert len(leads.created) == 9
