"""Addresses we must not mail: hard bounces, complaints, unsubscribes and manual
blocks, per org or (``org_id`` NULL) for the whole deployment.

An unsubscribe stops only the non-transactional mail of the org it came from (or, with
no org, of the deployment itself): a password reset still arrives, and another business
may still write. Every other reason stops all mail to the address, in its scope.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Uuid, and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from servio.platform.db import Base, UTCDateTime, row_level_secured, utcnow
from servio.platform.db.conflicts import conflict_insert
from servio.platform.db.scoped import in_org

Reason = Literal["bounce", "complaint", "unsubscribe", "manual"]
REASONS: tuple[Reason, ...] = ("bounce", "complaint", "unsubscribe", "manual")
TRANSACTIONAL = "transactional"
UNSUBSCRIBE = "unsubscribe"


@row_level_secured
class EmailSuppression(Base):
    __tablename__ = "email_suppressions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("orgs.id", ondelete="CASCADE"), default=None
    )
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"reason IN {REASONS!r}", name="reason_known"),
        CheckConstraint("address = lower(address)", name="address_lowercase"),
        # (org_id, address) is unique per org; NULLs never collide in a unique index, so
        # deployment-wide rows get a partial unique index of their own.
        Index("uq_email_suppressions_org_address", "org_id", "address", unique=True),
        Index(
            "uq_email_suppressions_deployment_address",
            "address",
            unique=True,
            postgresql_where=text("org_id IS NULL"),
            sqlite_where=text("org_id IS NULL"),
        ),
    )


def normalize_address(address: str) -> str:
    return address.strip().lower()


async def suppress(
    session: AsyncSession, *, address: str, reason: Reason, org_id: uuid.UUID | None = None
) -> None:
    """Stop mail to ``address`` (for ``org_id``, or everywhere); repeating is harmless
    and keeps the first reason."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}")
    await session.execute(
        conflict_insert(session, EmailSuppression)
        .values(
            id=uuid.uuid4(),
            org_id=org_id,
            address=normalize_address(address),
            reason=reason,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


async def suppression_of(
    session: AsyncSession,
    address: str,
    *,
    org_id: uuid.UUID | None = None,
    category: str = TRANSACTIONAL,
) -> EmailSuppression | None:
    """The entry that stops a ``category`` mail from ``org_id`` to ``address``, if any."""
    scope: ColumnElement[bool] = EmailSuppression.org_id.is_(None)
    if org_id is not None:
        everywhere = and_(EmailSuppression.org_id.is_(None), EmailSuppression.reason != UNSUBSCRIBE)
        scope = or_(in_org(EmailSuppression, org_id), everywhere)
    query = select(EmailSuppression).where(
        EmailSuppression.address == normalize_address(address), scope
    )
    if category == TRANSACTIONAL:
        query = query.where(EmailSuppression.reason != UNSUBSCRIBE)
    return await session.scalar(query.order_by(EmailSuppression.created_at).limit(1))


async def is_suppressed(
    session: AsyncSession,
    address: str,
    *,
    org_id: uuid.UUID | None = None,
    category: str = TRANSACTIONAL,
) -> bool:
    return await suppression_of(session, address, org_id=org_id, category=category) is not None
