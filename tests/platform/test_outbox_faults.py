"""The outbox's four fault tests, on PostgreSQL, delivering over real HTTP to a sink that
honours ``Idempotency-Key`` as a provider does: a worker killed mid-batch, a provider
failing once, a provider down past the attempt limit then replayed, and two workers
sharing 10,000 messages. Each message must be applied exactly once, none lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from servio.app.container import Container
from servio.platform.db import Database, utcnow
from servio.platform.outbox import OutboxMessage, add
from tests.conftest import make_settings
from tests.support import outbox_sink
from tests.support.http_sink import HttpSink

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.support.outbox_sink"


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.release()
    sink.stop()


async def _add_messages(db: Database, sink: HttpSink, count: int) -> list[str]:
    keys = [f"fault-{n:05d}" for n in range(count)]
    if count <= 10:
        async with db.unit_of_work(system=True) as s:
            for n, key in enumerate(keys):
                await add(
                    s, kind=outbox_sink.KIND, payload={"url": sink.url, "n": n}, dedupe_key=key
                )
        return keys
    now = utcnow()
    rows = [
        {
            "kind": outbox_sink.KIND,
            "payload": {"url": sink.url, "n": n},
            "dedupe_key": key,
            "status": "pending",
            "attempts": 0,
            "max_attempts": 0,
            "next_attempt_at": now,
            "history": [],
            "created_at": now,
            "updated_at": now,
        }
        for n, key in enumerate(keys)
    ]
    async with db.unit_of_work(system=True) as s:  # many at once: one insert, same rows
        await s.execute(insert(OutboxMessage), rows)
    return keys


async def _statuses(db: Database) -> dict[str, int]:
    async with db.unit_of_work(system=True) as s:
        rows = await s.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(n) for status, n in rows.all()}


async def _row(db: Database, key: str) -> OutboxMessage:
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    assert row is not None
    return row


def _tail(log: Path) -> str:
    return log.read_text()[-3000:] if log.exists() else ""


async def _wait_for(condition: Any, seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    tail = _tail(log) if log is not None else ""
    raise AssertionError(f"timed out after {seconds}s waiting for {what}\n{tail}")


def _start_worker(pg_url: str, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SERVIO_ENV": "test",
        "SERVIO_DATABASE_URL": pg_url,
        "SERVIO_WORKER_PLUGINS": PLUGIN,
        "SERVIO_LOG_LEVEL": "warning",
        **{f"SERVIO_{k.upper()}": v for k, v in settings.items()},
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "servio.cli", "worker"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def in_process(pg_url: str, pg_db: Database) -> AsyncIterator[Container]:
    """A worker's container in this process, with the sink plugin and fast retries."""
    settings = make_settings(
        pg_url,
        worker_plugins=[PLUGIN],
        outbox_max_attempts=3,
        outbox_backoff_base_seconds=0.01,
        circuit_failure_threshold=50,
    )
    container = Container.from_settings(settings)
    yield container
    await container.close()


async def _run_until(container: Container, db: Database, done: Any, seconds: float = 10) -> None:
    worker = container.worker()

    async def passes() -> bool:
        await worker.run_pass()
        return bool(await done())

    await _wait_for(passes, seconds, "the worker")


async def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    pg_url: str, pg_db: Database, sink: HttpSink, tmp_path: Path
) -> None:
    keys = await _add_messages(pg_db, sink, 200)
    sink.hold_after = 50
    log = tmp_path / "workers.log"
    first = _start_worker(pg_url, log, outbox_claim_seconds="5")
    try:

        async def stuck_mid_batch() -> bool:
            return sink.held > 0

        await _wait_for(stuck_mid_batch, 20, "the first worker to be mid-batch", log)
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    finally:
        _stop(first)
    in_flight = (await _statuses(pg_db)).get("in_flight", 0)
    assert in_flight > 0, "the kill must leave claimed, unfinished messages"
    sink.release()

    second = _start_worker(pg_url, log, outbox_claim_seconds="5")
    try:

        async def all_done() -> bool:
            return (await _statuses(pg_db)) == {"done": 200}

        await _wait_for(all_done, 30, "the second worker to finish", log)
    finally:
        _stop(second)
    assert sorted(sink.applied) == keys  # none lost
    assert sink.replays >= 1  # applied but unacknowledged, sent again, not applied twice
    assert sum(sink.deliveries.values()) == len(keys) + sink.replays


async def test_a_provider_failing_once_applies_the_message_once(
    in_process: Container, pg_db: Database, sink: HttpSink
) -> None:
    [key] = await _add_messages(pg_db, sink, 1)
    sink.fail_first[key] = [500]

    async def done() -> bool:
        return (await _row(pg_db, key)).status == "done"

    await _run_until(in_process, pg_db, done)
    row = await _row(pg_db, key)
    assert list(sink.applied) == [key]
    assert sink.deliveries[key] == 2
    assert [(h["attempt"], h["outcome"]) for h in row.history] == [(1, "pending"), (2, "done")]
    assert "500 Internal Server Error" in row.history[0]["error"]


async def test_a_provider_down_past_the_limit_is_dead_then_replayed_once(
    in_process: Container, pg_db: Database, sink: HttpSink
) -> None:
    [key] = await _add_messages(pg_db, sink, 1)  # no limit of its own: the setting's (3)
    sink.down = True

    async def dead() -> bool:
        return (await _row(pg_db, key)).status == "dead"

    await _run_until(in_process, pg_db, dead)
    row = await _row(pg_db, key)
    assert row.attempts == 3
    assert [h["outcome"] for h in row.history] == ["pending", "pending", "dead"]
    assert "503 Service Unavailable" in (row.last_error or "")
    assert sink.applied == {}
    await asyncio.sleep(0.1)
    await in_process.worker().run_pass()
    assert sink.deliveries[key] == 3  # dead stays dead

    sink.down = False
    async with pg_db.unit_of_work(system=True) as s:  # the admin replay
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key == key)
            .values(status="pending", attempts=0, next_attempt_at=utcnow())
        )

    async def done() -> bool:
        return (await _row(pg_db, key)).status == "done"

    await _run_until(in_process, pg_db, done)
    assert list(sink.applied) == [key]
    assert sink.deliveries[key] == 4


async def test_two_workers_share_ten_thousand_messages_without_loss_or_duplicate(
    pg_url: str, pg_db: Database, sink: HttpSink, tmp_path: Path
) -> None:
    keys = await _add_messages(pg_db, sink, 10_000)
    log = tmp_path / "workers.log"
    workers = [_start_worker(pg_url, log) for _ in range(2)]
    try:

        async def all_done() -> bool:
            return (await _statuses(pg_db)) == {"done": 10_000}

        await _wait_for(all_done, 45, "10,000 deliveries", log)
    finally:
        for worker in workers:
            _stop(worker)
    assert len(sink.applied) == 10_000
    assert sorted(sink.applied) == keys
    assert sink.replays == 0
    assert sum(sink.deliveries.values()) == 10_000  # no message was even sent twice
    async with pg_db.unit_of_work(system=True) as s:
        workers_used = await s.scalar(select(func.count(func.distinct(OutboxMessage.claimed_by))))
    assert workers_used == 2
