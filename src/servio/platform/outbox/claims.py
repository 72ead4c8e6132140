"""Claiming a batch of due messages: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a claim
update inside ``BEGIN IMMEDIATE`` on SQLite. A claim lasts ``claim_seconds``; a worker
that dies leaves rows whose claim expires, and another worker takes them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from servio.platform.db import Database, utcnow
from servio.platform.outbox.models import IN_FLIGHT, PENDING, OutboxMessage


def _due(now: object, skip_kinds: list[str]) -> object:
    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == IN_FLIGHT, OutboxMessage.claimed_until < now),
    )
    return and_(due, OutboxMessage.kind.not_in(skip_kinds)) if skip_kinds else due


async def claim(
    db: Database, *, worker_id: str, limit: int, claim_seconds: float, skip_kinds: list[str]
) -> list[OutboxMessage]:
    now = utcnow()
    until = now + timedelta(seconds=claim_seconds)
    async with db.unit_of_work(system=True, immediate=True) as s:
        pick = (
            select(OutboxMessage.id)
            .where(_due(now, skip_kinds))  # type: ignore[arg-type]
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        )
        if db.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        ids = list(await s.scalars(pick))
        if not ids:
            return []
        rows = await s.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=IN_FLIGHT,
                claimed_until=until,
                claimed_by=worker_id,
                attempts=OutboxMessage.attempts + 1,
                updated_at=now,
            )
            .returning(OutboxMessage),
            execution_options={"synchronize_session": False},
        )
        return list(rows)
