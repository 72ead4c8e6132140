"""Claiming a batch of due messages, in one transaction: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (concurrent workers take different rows), ``BEGIN IMMEDIATE`` on SQLite.

A claim lasts ``claim_seconds``; a worker that dies leaves rows whose claim expires.
The claim first puts such rows back in line (pending, attempt already counted, a
``lost`` entry in their history naming the worker) and then takes the earliest due
pending rows: an in-order scan of the ``(status, next_attempt_at)`` index that stops
after ``limit`` rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from servio.platform.db import Database, utcnow
from servio.platform.outbox.models import IN_FLIGHT, PENDING, OutboxMessage
from servio.platform.outbox.outcomes import HISTORY_KEPT


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
    expired = select(
        OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.claimed_by, OutboxMessage.history
    ).where(OutboxMessage.status == IN_FLIGHT, OutboxMessage.claimed_until < now)
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    if skip_kinds:
        due = due.where(OutboxMessage.kind.not_in(skip_kinds))
    if db.is_postgres:
        expired = expired.with_for_update(skip_locked=True)
        due = due.with_for_update(skip_locked=True)
    async with db.unit_of_work(system=True, immediate=True) as s:
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
        rows = await s.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
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
