"""The ``outbox`` table: side effects recorded in the business transaction, delivered
after commit by workers, each exactly once from the receiver's point of view (the
dedupe key travels as the provider's idempotency key).

Messages that share an ``ordering_key`` are delivered one at a time, in
``(ordering_time, dedupe_key)`` order: a message waits while an earlier one of its key
is still pending or in flight (see ``claims``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import Base, UTCDateTime, row_level_secured, utcnow

PENDING, IN_FLIGHT, DONE, DEAD, DISCARDED = "pending", "in_flight", "done", "dead", "discarded"
SKIPPED = "skipped"  # final: the handler chose not to deliver (e.g. a suppressed address)
STATUSES = (PENDING, IN_FLIGHT, DONE, SKIPPED, DEAD, DISCARDED)

# ``max_attempts`` of a message added without a limit of its own: the worker applies
# the deployment's SERVIO_OUTBOX_MAX_ATTEMPTS when it delivers.
DEPLOYMENT_LIMIT = 0


@row_level_secured
class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("orgs.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(80))
    payload: Mapped[Any] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEPLOYMENT_LIMIT)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ordering_key: Mapped[str | None] = mapped_column(String(200), default=None)
    ordering_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_ordering", "ordering_key", "ordering_time"),
    )


class ProviderCircuit(Base):
    """A provider's circuit as the workers last saw it, so probes can report it."""

    __tablename__ = "provider_circuits"

    provider: Mapped[str] = mapped_column(String(60), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="closed")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
