"""Claiming a batch of due messages, in one transaction: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (concurrent workers take different rows), ``BEGIN IMMEDIATE`` on SQLite.

A claim lasts ``claim_seconds``; a worker that dies leaves rows whose claim expires.
The claim first puts such rows back in line (pending, attempt already counted, a
``lost`` entry in their history naming the worker) and then takes the earliest due
pending rows: an in-order scan of the ``(status, next_attempt_at)`` index that stops
after ``limit`` rows.

Messages that share an ``ordering_key`` go to one worker at a time, in order: for each
key among the due rows, the claim takes the key's run of due pending messages in
``(ordering_time, dedupe_key)`` order, none while one of the key is in flight, and
stops at the first that is not due (waiting out a backoff) or whose provider's circuit
is open. On PostgreSQL a transaction-scoped advisory lock per key keeps two concurrent
claims from taking the same key; SQLite's write lock does it there.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Integer, String, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import Database, utcnow
from servio.platform.outbox.models import IN_FLIGHT, PENDING, OutboxMessage
from servio.platform.outbox.outcomes import HISTORY_KEPT

# Advisory locks of ordering keys live in their own class (the first key), apart from
# other subsystems' locks; two keys that share the second key only take turns.
_LOCK_CLASS = int.from_bytes(
    hashlib.sha256(b"servio.outbox.ordering").digest()[:4], "big", signed=True
)
_TRY_LOCK_KEYS = text(
    "SELECT k FROM unnest(:keys) AS k WHERE pg_try_advisory_xact_lock(:lock_class, hashtext(k))"
).bindparams(bindparam("keys", type_=ARRAY(String)), bindparam("lock_class", type_=Integer))


def lost_attempt(
    history: list[dict[str, Any]] | None, attempt: int, worker: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The history with an entry for an attempt whose worker never reported back."""
    entry = {
        "at": now.isoformat(),
        "attempt": attempt,
        "worker": worker,
        "outcome": "lost",
        "error": "the worker's claim expired before it reported an outcome",
    }
    return [*(history or []), entry][-HISTORY_KEPT:]


async def claim(
    db: Database, *, worker_id: str, limit: int, claim_seconds: float, skip_kinds: list[str]
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages (not of ``skip_kinds``) for ``worker_id``,
    counting the attempt; returns them as claimed."""
    now = utcnow()
    due = (
        select(OutboxMessage.id, OutboxMessage.ordering_key)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    if skip_kinds:
        due = due.where(OutboxMessage.kind.not_in(skip_kinds))
    if db.is_postgres:
        due = due.with_for_update(skip_locked=True)
    async with db.unit_of_work(system=True) as s:
        await _requeue_lost(s, db, now)
        candidates = (await s.execute(due)).all()
        ids = [c.id for c in candidates if c.ordering_key is None]
        keys = list(dict.fromkeys(c.ordering_key for c in candidates if c.ordering_key))
        if keys:
            ids += await _ordered_runs(s, db, keys, now, limit - len(ids), set(skip_kinds))
        if not ids:
            return []
        rows = await s.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING)
            .values(
                status=IN_FLIGHT,
                claimed_until=now + timedelta(seconds=claim_seconds),
                claimed_by=worker_id,
                attempts=OutboxMessage.attempts + 1,
                updated_at=now,
            )
            .returning(OutboxMessage),
            execution_options={"synchronize_session": False},
        )
        return list(rows)


async def _requeue_lost(s: AsyncSession, db: Database, now: datetime) -> None:
    """Put the messages whose claim expired back in line."""
    expired = select(
        OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.claimed_by, OutboxMessage.history
    ).where(OutboxMessage.status == IN_FLIGHT, OutboxMessage.claimed_until < now)
    if db.is_postgres:
        expired = expired.with_for_update(skip_locked=True)
    for lost in (await s.execute(expired)).all():
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == lost.id)
            .values(
                status=PENDING,
                claimed_until=None,
                updated_at=now,
                history=lost_attempt(lost.history, lost.attempts, lost.claimed_by, now),
            ),
            execution_options={"synchronize_session": False},
        )


async def _ordered_runs(
    s: AsyncSession,
    db: Database,
    keys: Sequence[str],
    now: datetime,
    budget: int,
    skip_kinds: set[str],
) -> list[uuid.UUID]:
    """The ids of each key's run of due messages, in order, up to ``budget`` in all;
    nothing of a key another worker is claiming or delivering."""
    if db.is_postgres:
        keys = list(await s.scalars(_TRY_LOCK_KEYS, {"keys": keys, "lock_class": _LOCK_CLASS}))
    busy = set(
        await s.scalars(
            select(OutboxMessage.ordering_key)
            .where(OutboxMessage.ordering_key.in_(keys), OutboxMessage.status == IN_FLIGHT)
            .distinct()
        )
    )
    keys = [k for k in keys if k not in busy]
    if not keys:
        return []
    waiting = (
        await s.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.ordering_key,
                OutboxMessage.kind,
                OutboxMessage.next_attempt_at,
            )
            .where(OutboxMessage.ordering_key.in_(keys), OutboxMessage.status == PENDING)
            .order_by(OutboxMessage.ordering_time, OutboxMessage.dedupe_key)
        )
    ).all()
    locked = await _lock_rows(s, db, [w.id for w in waiting])
    runs: dict[str, list[Any]] = {key: [] for key in keys}
    for w in waiting:
        runs[w.ordering_key].append(w)
    taken: list[uuid.UUID] = []
    for run in runs.values():
        for w in run:
            if (
                len(taken) >= budget
                or w.next_attempt_at > now
                or w.kind in skip_kinds
                or (locked is not None and w.id not in locked)
            ):
                break
            taken.append(w.id)
    return taken


async def _lock_rows(s: AsyncSession, db: Database, ids: list[uuid.UUID]) -> set[uuid.UUID] | None:
    """On PostgreSQL, lock the rows that are free to lock (None on SQLite, whose write
    lock the claim already holds): a run stops short of a row another claim holds."""
    if not db.is_postgres or not ids:
        return None
    return set(
        await s.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.id.in_(ids))
            .with_for_update(skip_locked=True)
        )
    )
