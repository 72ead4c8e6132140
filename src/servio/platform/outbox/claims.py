"""Claiming a batch of due messages, in one transaction: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (concurrent workers take different rows), ``BEGIN IMMEDIATE`` on SQLite.

A claim lasts ``claim_seconds``; a worker that dies leaves rows whose claim expires.
The claim first puts such rows back in line (pending, attempt already counted) and
then takes the earliest due pending rows. Two statements rather than one ``OR``: each
is an in-order scan of the ``(status, next_attempt_at)`` index that stops after
``limit`` rows, where the ``OR`` sorted the whole backlog on every claim.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from servio.platform.db import Database, utcnow
from servio.platform.outbox.models import IN_FLIGHT, PENDING, OutboxMessage


async def claim(
    db: Database, *, worker_id: str, limit: int, claim_seconds: float, skip_kinds: list[str]
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages (not of ``skip_kinds``) for ``worker_id``,
    counting the attempt; returns them as claimed."""
    now = utcnow()
    expired = select(OutboxMessage.id).where(
        OutboxMessage.status == IN_FLIGHT, OutboxMessage.claimed_until < now
    )
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
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(expired.scalar_subquery()))
            .values(status=PENDING, claimed_until=None, updated_at=now),
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
