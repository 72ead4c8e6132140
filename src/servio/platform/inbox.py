"""Inbound events from providers (Stripe, WhatsApp, email), stored once each.

A webhook receiver records each event under its provider's id before acting on it; the
unique (provider, event_id) makes a redelivery or a concurrent duplicate a no-op that
the receiver acknowledges and ignores. Processing marks the row with its outcome, and a
retention job prunes processed rows after ``SERVIO_INBOX_RETENTION_DAYS``.

``org_id`` is NULL until the event is matched to an org; such rows are visible to
system-scoped sessions only (row-level security on PostgreSQL), so receivers, which do
not know the org before parsing, record events in system scope.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, Uuid, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import Base, Database, UTCDateTime, row_level_secured, utcnow
from servio.platform.db.conflicts import insert_if_absent
from servio.platform.db.pruning import delete_in_batches
from servio.platform.db.scoped import in_org

PROVIDER_MAX_LENGTH = 40
EVENT_ID_MAX_LENGTH = 255
OUTCOME_MAX_LENGTH = 40
ERROR_MAX_LENGTH = 2000
PRUNE_BATCH = 1000


@row_level_secured
class ExternalEvent(Base):
    """One event a provider delivered, its payload as received, and how processing went."""

    __tablename__ = "external_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(String(PROVIDER_MAX_LENGTH))
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_MAX_LENGTH))
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("orgs.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[Any] = mapped_column(JSON)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str | None] = mapped_column(String(OUTCOME_MAX_LENGTH))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_external_events_provider_event_id"),
    )


class EventNotVisible(LookupError):
    """The event exists but this session may not see it (another org's, under RLS)."""


async def record_event(
    session: AsyncSession,
    *,
    provider: str,
    event_id: str,
    payload: Any,
    org_id: uuid.UUID | None = None,
) -> tuple[ExternalEvent, bool]:
    """Store the event unless (provider, event_id) is already stored; returns the stored
    row and whether this call stored it. Of concurrent duplicates exactly one is new,
    on SQLite and PostgreSQL alike; the caller's unit of work commits."""
    if not 0 < len(provider) <= PROVIDER_MAX_LENGTH:
        raise ValueError(f"provider must be 1 to {PROVIDER_MAX_LENGTH} characters")
    if not 0 < len(event_id) <= EVENT_ID_MAX_LENGTH:
        raise ValueError(f"event_id must be 1 to {EVENT_ID_MAX_LENGTH} characters")
    new = await insert_if_absent(
        session,
        ExternalEvent.__table__,  # type: ignore[arg-type]
        {
            "id": uuid.uuid4(),
            "provider": provider,
            "event_id": event_id,
            "org_id": org_id,
            "received_at": utcnow(),
            "payload": payload,
        },
        ["provider", "event_id"],
    )
    event = await session.scalar(
        select(ExternalEvent)
        .where(ExternalEvent.provider == provider, ExternalEvent.event_id == event_id)
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise EventNotVisible(f"{provider} event {event_id} belongs to another org")
    return event, new


async def mark_processed(
    session: AsyncSession, event: ExternalEvent, outcome: str, error: str | None = None
) -> ExternalEvent:
    """Note that ``event`` was processed, how (``applied``, ``ignored``, ``failed``...)
    and, when it failed, why; saved with the caller's unit of work."""
    if not 0 < len(outcome) <= OUTCOME_MAX_LENGTH:
        raise ValueError(f"outcome must be 1 to {OUTCOME_MAX_LENGTH} characters")
    event.processed_at = utcnow()
    event.outcome = outcome
    event.error = error[:ERROR_MAX_LENGTH] if error is not None else None
    session.add(event)
    await session.flush()
    return event


async def prune_processed(
    db: Database, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """Delete events processed more than ``older_than`` ago, in batches; unprocessed
    events stay whatever their age. Returns how many went (a retention job)."""
    cutoff = (now or utcnow()) - older_than
    return await delete_in_batches(
        db, ExternalEvent, ExternalEvent.processed_at < cutoff, batch=PRUNE_BATCH
    )


async def prune_processed_for_org(
    session: AsyncSession, org_id: uuid.UUID, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """Delete the org's events processed more than ``older_than`` ago, in the caller's
    unit of work; events not yet matched to an org are left to ``prune_processed``."""
    cutoff = (now or utcnow()) - older_than
    result = await session.execute(
        delete(ExternalEvent)
        .where(in_org(ExternalEvent, org_id), ExternalEvent.processed_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
