"""Ordering keys of the outbox: messages that share a key are delivered one at a time,
in ``(ordering_time, dedupe_key)`` order, whichever order they were added in and
however many workers and concurrent deliveries drain them; a message to be retried
holds back the later ones of its key, and other keys carry on."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select, update

from servio.platform.db import Database, utcnow
from servio.platform.outbox import (
    Delivery,
    Dispatcher,
    OutboxMessage,
    OutboxRegistry,
    RetryLater,
    add,
)

KIND = "test.ordered"
KEYS = [f"contact-{n}" for n in range(6)]
PER_KEY = 5


class Recorder:
    """A handler that notes what it delivered, and whether two messages of one key
    were ever delivered at the same time."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.delivered: dict[str, list[int]] = defaultdict(list)
        self.running: dict[str, int] = defaultdict(int)
        self.overlaps = 0
        self.most_at_once = 0
        self.fail = fail or set()

    async def __call__(self, d: Delivery) -> None:
        key, n = d.payload["key"], d.payload["n"]
        self.running[key] += 1
        self.overlaps += self.running[key] > 1
        self.most_at_once = max(self.most_at_once, sum(self.running.values()))
        try:
            await asyncio.sleep(random.uniform(0, 0.01))
            if d.dedupe_key in self.fail:
                raise RetryLater("the provider is down", after_seconds=3600)
            self.delivered[key].append(n)
        finally:
            self.running[key] -= 1


def _dispatcher(
    db: Database,
    handler: Recorder,
    worker_id: str = "w1",
    batch_size: int = 50,
) -> Dispatcher:
    registry = OutboxRegistry()
    registry.register(KIND, handler, timeout_seconds=5)
    return Dispatcher(
        db,
        registry,
        worker_id=worker_id,
        concurrency=8,
        backoff_base_seconds=0.001,
        batch_size=batch_size,
    )


async def _add_shuffled(db: Database) -> None:
    """Each key's messages 0..PER_KEY-1, one second apart, added in a random order and
    in separate transactions (as separate webhooks would)."""
    start = utcnow()
    wanted = [(key, n) for key in KEYS for n in range(PER_KEY)]
    random.shuffle(wanted)
    for key, n in wanted:
        async with db.unit_of_work(system=True) as s:
            await add(
                s,
                kind=KIND,
                payload={"key": key, "n": n},
                dedupe_key=f"{key}:{n}",
                ordering_key=key,
                ordering_time=start + timedelta(seconds=n),
            )


async def _drain_all(*dispatchers: Dispatcher) -> None:
    for _ in range(50):
        handled = await asyncio.gather(*(d.drain() for d in dispatchers))
        if not any(handled):
            return
    raise AssertionError("the outbox never emptied")


async def test_one_keys_messages_are_delivered_one_at_a_time_in_order(db: Database) -> None:
    await _add_shuffled(db)
    recorder = Recorder()
    await _drain_all(_dispatcher(db, recorder))
    assert dict(recorder.delivered) == {key: list(range(PER_KEY)) for key in KEYS}
    assert recorder.overlaps == 0
    assert recorder.most_at_once > 1  # different keys did run side by side


async def test_several_workers_keep_each_keys_order(db: Database) -> None:
    await _add_shuffled(db)
    recorder = Recorder()
    # Small batches, so each claim sees only part of a key's messages.
    workers = [_dispatcher(db, recorder, f"w{n}", batch_size=2) for n in range(3)]
    await _drain_all(*workers)
    assert dict(recorder.delivered) == {key: list(range(PER_KEY)) for key in KEYS}
    assert recorder.overlaps == 0
    async with db.unit_of_work(system=True) as s:
        claimed_by = set(await s.scalars(select(OutboxMessage.claimed_by)))
        statuses = set(await s.scalars(select(OutboxMessage.status)))
    assert statuses == {"done"}
    assert claimed_by <= {"w0", "w1", "w2"}


async def test_same_time_messages_follow_their_dedupe_keys(db: Database) -> None:
    at = utcnow()
    for n in (2, 0, 1):
        async with db.unit_of_work(system=True) as s:
            await add(
                s,
                kind=KIND,
                payload={"key": "k", "n": n},
                dedupe_key=f"k:{n}",
                ordering_key="k",
                ordering_time=at,
            )
    recorder = Recorder()
    await _drain_all(_dispatcher(db, recorder))
    assert recorder.delivered == {"k": [0, 1, 2]}


async def test_a_message_to_retry_holds_back_the_rest_of_its_key(db: Database) -> None:
    await _add_shuffled(db)
    stuck = KEYS[0]
    recorder = Recorder(fail={f"{stuck}:1"})
    dispatcher = _dispatcher(db, recorder)
    await dispatcher.drain()
    await dispatcher.drain()

    assert recorder.delivered[stuck] == [0]
    assert {key: recorder.delivered[key] for key in KEYS[1:]} == {
        key: list(range(PER_KEY)) for key in KEYS[1:]
    }
    async with db.unit_of_work(system=True) as s:
        rows = {
            row.dedupe_key: (row.status, row.attempts)
            for row in await s.scalars(
                select(OutboxMessage).where(OutboxMessage.ordering_key == stuck)
            )
        }
    assert rows[f"{stuck}:0"] == ("done", 1)
    assert rows[f"{stuck}:1"] == ("pending", 1)  # tried once, waits an hour for its retry
    # never tried: they wait behind it, their attempts untouched
    assert [rows[f"{stuck}:{n}"] for n in range(2, PER_KEY)] == [("pending", 0)] * 3

    recorder.fail.clear()
    async with db.unit_of_work(system=True) as s:
        await s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    await _drain_all(dispatcher)
    assert recorder.delivered[stuck] == list(range(PER_KEY))
    assert recorder.overlaps == 0


async def test_messages_without_a_key_are_not_held_back(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        for n in range(3):
            await add(s, kind=KIND, payload={"key": "free", "n": n}, dedupe_key=f"free:{n}")
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "free:0"))
    assert row is not None
    assert (row.ordering_key, row.ordering_time) == (None, None)
    recorder = Recorder()
    await _drain_all(_dispatcher(db, recorder))
    assert sorted(recorder.delivered["free"]) == [0, 1, 2]
    assert recorder.most_at_once == 3  # side by side
