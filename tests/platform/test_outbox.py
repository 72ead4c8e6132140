"""The transactional outbox: recorded with the business change, delivered after commit,
retried with full-jitter backoff, dead-lettered, guarded by claims and circuit breakers,
and scoped by row-level security."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from servio.platform.db import Database, utcnow
from servio.platform.outbox import (
    DedupeKeyTaken,
    Delivery,
    Dispatcher,
    OutboxMessage,
    OutboxRegistry,
    PermanentFailure,
    RetryLater,
    add,
)
from servio.platform.worker import Worker, WorkRegistry
from tests.support.orgs import add_org

KIND = "test.notify"
Handler = Callable[[Delivery], Awaitable[None]]


async def _ok(_d: Delivery) -> None:
    return None


def _dispatcher(
    db: Database,
    handler: Handler = _ok,
    *,
    timeout: float = 5.0,
    worker_id: str = "w1",
    **options: Any,
) -> Dispatcher:
    registry = OutboxRegistry()
    registry.register(KIND, handler, timeout_seconds=timeout)
    return Dispatcher(db, registry, worker_id=worker_id, **options)


async def _add(
    db: Database, key: str = "k1", *, kind: str = KIND, max_attempts: int | None = None
) -> uuid.UUID:
    async with db.unit_of_work(system=True) as s:
        message = await add(
            s, kind=kind, payload={"n": 1}, dedupe_key=key, max_attempts=max_attempts
        )
        return message.id


async def _row(db: Database, key: str = "k1") -> OutboxMessage:
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    assert row is not None
    return row


async def _make_due(db: Database) -> None:
    """Time passes: every waiting message is due now."""
    async with db.unit_of_work(system=True) as s:
        await s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))


async def _count(db: Database) -> int:
    async with db.unit_of_work(system=True) as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def _failing(exc: BaseException) -> Handler:
    async def handler(_d: Delivery) -> None:
        raise exc

    return handler


async def test_a_message_is_invisible_until_its_transaction_commits(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        await add(s, kind=KIND, payload={"booking": 1}, dedupe_key="booking-1-confirmed")
        assert await _count(db) == 0  # another session: not committed yet
    assert await _count(db) == 1


async def test_a_rolled_back_transaction_leaves_no_message(db: Database) -> None:
    async def business_change_that_fails() -> None:
        async with db.unit_of_work(system=True) as s:
            await add(s, kind=KIND, payload={}, dedupe_key="k1")
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        await business_change_that_fails()
    assert await _count(db) == 0


async def test_a_second_add_with_the_same_dedupe_key_keeps_the_first(db: Database) -> None:
    first = await _add(db)
    async with db.unit_of_work(system=True) as s:
        again = await add(s, kind=KIND, payload={"n": 2}, dedupe_key="k1")
    assert again.id == first
    assert again.payload == {"n": 1}
    assert await _count(db) == 1


async def test_a_dedupe_key_of_another_orgs_message_is_refused(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        a, b = (await add_org(s, "org-a")).id, (await add_org(s, "org-b")).id
    async with db.unit_of_work(a) as s:
        await add(s, kind=KIND, payload={}, dedupe_key="shared", org_id=a)
    with pytest.raises(DedupeKeyTaken, match="another org"):
        async with db.unit_of_work(b) as s:
            await add(s, kind=KIND, payload={}, dedupe_key="shared", org_id=b)


async def test_a_delivered_message_is_done_with_its_history(db: Database) -> None:
    seen: list[Delivery] = []

    async def handler(d: Delivery) -> None:
        seen.append(d)

    await _add(db)
    assert await _dispatcher(db, handler).drain() == 1
    row = await _row(db)
    assert (row.status, row.attempts, row.last_error, row.claimed_until) == ("done", 1, None, None)
    assert row.done_at is not None
    assert [(h["attempt"], h["outcome"], h["worker"]) for h in row.history] == [(1, "done", "w1")]
    assert [(d.dedupe_key, d.attempt, d.payload) for d in seen] == [("k1", 1, {"n": 1})]
    assert await _dispatcher(db, handler).drain() == 0  # nothing is delivered twice


async def test_a_failure_waits_within_the_full_jitter_window(db: Database) -> None:
    d = _dispatcher(db, _failing(ConnectionError("refused")), backoff_base_seconds=10)
    await _add(db)
    for attempt, ceiling in ((1, 10), (2, 20), (3, 40)):
        before = utcnow()
        assert await d.drain_once() == 1
        row = await _row(db)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.last_error == "ConnectionError: refused"
        assert before <= row.next_attempt_at <= utcnow() + timedelta(seconds=ceiling)
        assert await d.drain_once() == 0  # not due yet
        await _make_due(db)
    assert [h["outcome"] for h in row.history] == ["pending"] * 3


def test_the_backoff_is_full_jitter_up_to_the_capped_exponential(sqlite_url: str) -> None:
    d = Dispatcher(Database(sqlite_url), OutboxRegistry(), "w", backoff_base_seconds=2)
    d.backoff_cap_seconds = 100
    for attempt in range(1, 12):
        ceiling = min(100, 2 * 2 ** (attempt - 1))
        waits = [d.backoff(attempt) for _ in range(300)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # spread over the window, not a fixed delay
        assert min(waits) < ceiling * 0.2


@pytest.mark.parametrize(
    ("handler_kind", "error"),
    [
        (KIND, "PermanentFailure: the address does not exist"),
        ("test.unknown", "PermanentFailure: no handler for kind 'test.unknown'"),
    ],
)
async def test_a_permanent_failure_or_an_unknown_kind_is_dead_at_once(
    db: Database, handler_kind: str, error: str
) -> None:
    await _add(db, kind=handler_kind)
    await _dispatcher(db, _failing(PermanentFailure("the address does not exist"))).drain()
    row = await _row(db)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, error)


@pytest.mark.parametrize("own_limit", [2, None])
async def test_a_message_is_dead_when_its_attempts_are_spent(
    db: Database, own_limit: int | None
) -> None:
    """The message's own limit, or the deployment's (SERVIO_OUTBOX_MAX_ATTEMPTS)."""
    deployment_limit = 2 if own_limit is None else 50
    d = _dispatcher(db, _failing(ConnectionError("refused")), max_attempts=deployment_limit)
    await _add(db, max_attempts=own_limit)
    await d.drain_once()
    await _make_due(db)
    await d.drain_once()
    row = await _row(db)
    assert (row.status, row.attempts, row.last_error) == ("dead", 2, "ConnectionError: refused")
    assert [h["outcome"] for h in row.history] == ["pending", "dead"]


async def test_a_handler_that_takes_too_long_is_retried(db: Database) -> None:
    async def slow(_d: Delivery) -> None:
        await asyncio.sleep(10)

    await _add(db)
    await _dispatcher(db, slow, timeout=0.05).drain()
    row = await _row(db)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "TimeoutError: the handler took too long"


async def test_a_handler_failure_never_stops_the_worker(db: Database) -> None:
    async def handler(d: Delivery) -> None:
        if d.dedupe_key == "boom":
            raise RuntimeError("boom")
        if d.dedupe_key == "cancelled":
            raise asyncio.CancelledError
        if d.dedupe_key == "missing":
            raise KeyError("missing")

    for key in ("boom", "cancelled", "missing", "fine"):
        await _add(db, key)
    later: list[str] = []

    async def next_item(_db: Database) -> int:
        later.append("ran")
        return 0

    d = _dispatcher(db, handler)
    worker = Worker(db, WorkRegistry({"outbox": d.drain, "next": next_item}))
    assert await worker.run_pass() == 4
    assert later == ["ran"]
    keys = ("boom", "cancelled", "missing", "fine")
    statuses = [(await _row(db, k)).status for k in keys]
    assert statuses == ["pending", "pending", "pending", "done"]
    assert (await _row(db, "cancelled")).last_error == "CancelledError: the handler was cancelled"


async def test_retry_later_waits_as_long_as_the_provider_asked(db: Database) -> None:
    await _add(db)
    before = utcnow()
    await _dispatcher(db, _failing(RetryLater("slow down", after_seconds=600))).drain()
    row = await _row(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "RetryLater: slow down")
    wait = (row.next_attempt_at - before).total_seconds()
    assert 600 <= wait <= 605


async def test_an_expired_claim_is_taken_over_and_the_late_result_is_ignored(
    db: Database,
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def stalled(_d: Delivery) -> None:
        started.set()
        await release.wait()
        raise ConnectionError("too late")

    await _add(db)
    first = asyncio.create_task(_dispatcher(db, stalled, worker_id="w1").drain_once())
    await asyncio.wait_for(started.wait(), 5)
    async with db.unit_of_work(system=True) as s:  # w1 stalls past its claim
        await s.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert await _dispatcher(db, worker_id="w2").drain_once() == 1
    release.set()
    assert await first == 1
    row = await _row(db)
    assert (row.status, row.claimed_by, row.attempts, row.last_error) == ("done", "w2", 2, None)
    assert [(h["worker"], h["attempt"], h["outcome"]) for h in row.history] == [
        ("w1", 1, "lost"),  # its claim expired before it reported
        ("w2", 2, "done"),
    ]


async def test_a_message_whose_last_attempt_was_lost_is_dead(db: Database) -> None:
    await _add(db, max_attempts=1)
    async with db.unit_of_work(system=True) as s:  # attempt 1 claimed, its worker died
        await s.execute(
            update(OutboxMessage).values(
                status="in_flight",
                attempts=1,
                claimed_by="gone",
                claimed_until=utcnow() - timedelta(seconds=1),
            )
        )
    calls: list[Delivery] = []

    async def handler(d: Delivery) -> None:
        calls.append(d)

    await _dispatcher(db, handler).drain()
    row = await _row(db)
    assert calls == []
    assert (row.status, row.last_error) == (
        "dead",
        "PermanentFailure: the claim of the last attempt expired (worker lost)",
    )
    assert (row.history[0]["worker"], row.history[0]["outcome"]) == ("gone", "lost")


async def test_a_claim_too_short_for_the_handler_gives_the_message_back(db: Database) -> None:
    calls: list[Delivery] = []

    async def handler(d: Delivery) -> None:
        calls.append(d)

    await _add(db)
    await _dispatcher(db, handler, claim_seconds=0.5).drain_once()
    row = await _row(db)
    assert calls == []
    assert (row.status, row.attempts, row.history) == ("pending", 0, [])


@pytest.mark.postgres
async def test_an_org_session_sees_only_its_orgs_messages(pg_db: Database) -> None:
    async with pg_db.unit_of_work(system=True) as s:
        a, b = (await add_org(s, "org-a")).id, (await add_org(s, "org-b")).id
    async with pg_db.unit_of_work(a) as s:
        await add(s, kind=KIND, payload={}, dedupe_key="a-1", org_id=a)
    async with pg_db.unit_of_work(system=True) as s:
        await add(s, kind=KIND, payload={}, dedupe_key="b-1", org_id=b)
        await add(s, kind=KIND, payload={}, dedupe_key="deployment-1")
    async with pg_db.unit_of_work(a) as s:
        keys = set((await s.scalars(select(OutboxMessage.dedupe_key))).all())
    assert keys == {"a-1"}
    async with pg_db.unit_of_work() as s:
        assert (await s.scalars(select(OutboxMessage))).all() == []
    assert await _count(pg_db) == 3
