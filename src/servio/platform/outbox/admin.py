"""Operating the outbox: list dead letters, replay them (history kept), discard them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform import pagination
from servio.platform.db import utcnow
from servio.platform.db.scoped import get_owned, in_org, owned
from servio.platform.errors import Conflict, NotFound
from servio.platform.outbox.models import DEAD, DISCARDED, PENDING, OutboxMessage


class MessageNotFound(NotFound):
    type = "outbox-message-not-found"
    title = "No such outbox message"


class NotDead(Conflict):
    type = "outbox-message-not-dead"
    title = "Only dead-lettered messages can be replayed or discarded"


Page = pagination.Page[OutboxMessage]
LATEST_FAILED = pagination.ByTimeAndId(OutboxMessage.updated_at, OutboxMessage.id)


async def dead_letters(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Dead messages of one org, most recently failed first."""
    stmt = owned(OutboxMessage, org_id).where(OutboxMessage.status == DEAD)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    if since:
        stmt = stmt.where(OutboxMessage.updated_at >= since)
    return await pagination.keyset_page(s, stmt, LATEST_FAILED, cursor=cursor or None, limit=limit)


async def _dead_row(s: AsyncSession, org_id: uuid.UUID, message_id: uuid.UUID) -> OutboxMessage:
    missing = MessageNotFound("No such outbox message in this business.")
    row = await get_owned(s, OutboxMessage, message_id, org_id, missing=missing, lock=True)
    if row.status != DEAD:
        raise NotDead(f"The message is {row.status}, not dead.")
    return row


def _note(row: OutboxMessage, outcome: str, actor: str) -> list[dict[str, Any]]:
    entry = {"at": utcnow().isoformat(), "attempt": row.attempts, "outcome": outcome, "by": actor}
    return [*(row.history or []), entry]


async def replay(
    s: AsyncSession, org_id: uuid.UUID, message_id: uuid.UUID, *, actor: str
) -> OutboxMessage:
    """Send a dead message again from scratch; its history is kept and says so."""
    row = await _dead_row(s, org_id, message_id)
    row.history = _note(row, "replayed", actor)
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, utcnow()
    row.claimed_by = row.claimed_until = None
    row.updated_at = utcnow()
    await s.flush()
    return row


async def discard(
    s: AsyncSession, org_id: uuid.UUID, message_id: uuid.UUID, *, actor: str
) -> OutboxMessage:
    row = await _dead_row(s, org_id, message_id)
    row.history = _note(row, "discarded", actor)
    row.status, row.updated_at = DISCARDED, utcnow()
    await s.flush()
    return row


async def retry_dead(
    s: AsyncSession, org_id: uuid.UUID, *, limit: int, actor: str
) -> dict[str, int]:
    """Replay up to ``limit`` of the org's oldest dead messages in one go (bulk retry)."""
    rows = list(
        await s.scalars(
            owned(OutboxMessage, org_id)
            .where(OutboxMessage.status == DEAD)
            .order_by(OutboxMessage.updated_at)
            .limit(limit)
            .with_for_update()
        )
    )
    for row in rows:
        await replay(s, org_id, row.id, actor=actor)
    left = await s.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(in_org(OutboxMessage, org_id), OutboxMessage.status == DEAD)
    )
    return {"retried": len(rows), "remaining_dead": int(left or 0)}


async def counts_by_kind(s: AsyncSession, org_id: uuid.UUID) -> dict[str, int]:
    rows = await s.execute(
        select(OutboxMessage.kind, func.count())
        .where(in_org(OutboxMessage, org_id), OutboxMessage.status == DEAD)
        .group_by(OutboxMessage.kind)
    )
    return {kind: int(n) for kind, n in rows.all()}
