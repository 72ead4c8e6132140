"""The worker loop outlives its errors: a heartbeat or a pass that fails (the database
cut) is logged and retried after a capped backoff, and the worker heartbeats again when
the database returns. ``run(once=True)`` runs passes until one finds nothing to do."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import make_url, select

from servio.platform.db import Database
from servio.platform.worker import Worker, WorkerHeartbeat, WorkRegistry
from tests.support.tcp_proxy import TcpProxy


async def _last_seen(db: Database, worker_id: str) -> object:
    async with db.unit_of_work(system=True) as s:
        return await s.scalar(
            select(WorkerHeartbeat.last_seen_at).where(WorkerHeartbeat.worker_id == worker_id)
        )


@pytest.mark.postgres
async def test_a_failing_heartbeat_never_ends_the_worker(pg_url: str, pg_db: Database) -> None:
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via = Database(
        target.set(port=proxy.port).render_as_string(hide_password=False),
        timeout=0.5,
        statement_timeout_ms=1000,
    )
    passes: list[float] = []

    async def count(_db: Database) -> int:
        passes.append(time.monotonic())
        return 0

    worker = Worker(
        via,
        WorkRegistry({"count": count}),
        heartbeat_seconds=0.1,
        idle_sleep_seconds=0.05,
        error_backoff_cap_seconds=0.2,
    )
    running = asyncio.create_task(worker.run())
    try:
        while await _last_seen(pg_db, worker.worker_id) is None:
            assert not running.done()
            await asyncio.sleep(0.05)
        await proxy.cut()
        await asyncio.sleep(1.0)  # several heartbeats fail meanwhile
        assert not running.done(), "a failed heartbeat ended the worker"
        seen_during_cut = await _last_seen(pg_db, worker.worker_id)
        await proxy.start()
        deadline = time.monotonic() + 5
        while await _last_seen(pg_db, worker.worker_id) == seen_during_cut:
            assert time.monotonic() < deadline, "no heartbeat after the database came back"
            await asyncio.sleep(0.05)
        assert not running.done()
    finally:
        worker.stop()
        await asyncio.wait_for(running, 5)
        await proxy.cut()
        await via.dispose()
    assert passes, "passes kept running"


async def test_errors_back_off_doubling_up_to_the_cap(db: Database) -> None:
    worker = Worker(db, WorkRegistry(), idle_sleep_seconds=0.5, error_backoff_cap_seconds=3.0)
    assert [worker.backoff(n) for n in (1, 2, 3, 4, 5, 60)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


async def test_a_pass_that_keeps_failing_keeps_the_worker_alive(db: Database) -> None:
    calls: list[int] = []

    async def broken(_db: Database) -> int:
        calls.append(1)
        raise RuntimeError("broken")

    worker = Worker(
        db,
        WorkRegistry({"broken": broken}),
        idle_sleep_seconds=0.01,
        error_backoff_cap_seconds=0.02,
    )
    running = asyncio.create_task(worker.run())
    while len(calls) < 5:
        assert not running.done()
        await asyncio.sleep(0.01)
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert worker.failed_items == 1


async def test_once_runs_passes_until_nothing_is_left(db: Database) -> None:
    queue = ["engine"]
    done: list[str] = []

    async def engine_then_reply(_db: Database) -> int:
        if not queue:
            return 0
        item = queue.pop(0)
        done.append(item)
        if item == "engine":
            queue.append("reply")  # what a handler queues for a later pass
        return 1

    await Worker(db, WorkRegistry({"work": engine_then_reply})).run(once=True)
    assert done == ["engine", "reply"]


async def test_once_stops_after_the_pass_limit_when_work_never_ends(db: Database) -> None:
    calls: list[int] = []

    async def endless(_db: Database) -> int:
        calls.append(1)
        return 1

    worker = Worker(db, WorkRegistry({"endless": endless}))
    assert await worker.run_until_idle(max_passes=7) == 7
    assert len(calls) == 7
