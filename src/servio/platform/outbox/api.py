"""Adding to the outbox, inside the caller's business transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import utcnow
from servio.platform.db.conflicts import conflict_insert
from servio.platform.outbox.models import DEPLOYMENT_LIMIT, OutboxMessage

MAX_ORDERING_KEY = 200


class DedupeKeyTaken(ValueError):
    """The key is already used by a message of another org (keys must name their org)."""


async def add(
    session: AsyncSession,
    *,
    kind: str,
    payload: Any,
    dedupe_key: str,
    org_id: uuid.UUID | None = None,
    delay: timedelta | None = None,
    max_attempts: int | None = None,
    ordering_key: str | None = None,
    ordering_time: datetime | None = None,
) -> OutboxMessage:
    """Record a side effect to deliver after commit. A second add with the same
    ``dedupe_key`` changes nothing and returns the first message. Without
    ``max_attempts`` the deployment's limit (``SERVIO_OUTBOX_MAX_ATTEMPTS``) applies,
    as the worker delivering it reads it. Messages of one ``ordering_key`` are
    delivered one at a time in ``(ordering_time, dedupe_key)`` order (``ordering_time``
    defaults to now)."""
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if ordering_key is not None and not 0 < len(ordering_key) <= MAX_ORDERING_KEY:
        raise ValueError(f"ordering_key must be 1 to {MAX_ORDERING_KEY} characters")
    now = utcnow()
    await session.execute(
        conflict_insert(session, OutboxMessage)
        .values(
            id=uuid.uuid4(),
            org_id=org_id,
            kind=kind,
            payload=payload,
            dedupe_key=dedupe_key,
            status="pending",
            attempts=0,
            max_attempts=DEPLOYMENT_LIMIT if max_attempts is None else max_attempts,
            next_attempt_at=now + (delay or timedelta(0)),
            history=[],
            ordering_key=ordering_key,
            ordering_time=(ordering_time or now) if ordering_key is not None else None,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
    if row is None or row.org_id != org_id:  # hidden by RLS, or seen on SQLite
        raise DedupeKeyTaken(f"dedupe key {dedupe_key!r} belongs to another org's message")
    return row
