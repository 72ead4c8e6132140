"""The ``audit_events`` table: one hash chain per org, and one for the deployment.

A row's ``org_id`` is NULL for deployment-level events (a failed login for an unknown
email); ``chain_id`` is the org's id, or the nil UUID for that deployment chain, so that
``(chain_id, seq)`` can be unique on every database (NULLs never collide in a unique
constraint) and a forked chain fails on insert instead of passing silently.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import Base, UTCDateTime, row_level_secured, utcnow

DEPLOYMENT_CHAIN = uuid.UUID(int=0)

# SQLite keeps a UUID as 32 hex digits; PostgreSQL reads that same literal as a uuid.
_CHAIN_MATCHES_ORG = (
    f"(org_id IS NULL AND chain_id = '{DEPLOYMENT_CHAIN.hex}') "
    "OR (org_id IS NOT NULL AND chain_id = org_id)"
)


def chain_of(org_id: uuid.UUID | None) -> uuid.UUID:
    """The chain an org's events extend; deployment-level events share one chain."""
    return DEPLOYMENT_CHAIN if org_id is None else org_id


@row_level_secured
class AuditEvent(Base):
    """Who did what to which thing, when and from where; ``hash`` seals the row and the
    hash of the row before it (``prev_hash``)."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("orgs.id", ondelete="CASCADE"), index=True
    )
    chain_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    after: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("chain_id", "seq", name="uq_audit_events_chain_seq"),
        CheckConstraint(_CHAIN_MATCHES_ORG, name="chain_matches_org"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )
