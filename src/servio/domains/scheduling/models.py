"""Resources, weekly hours, date exceptions, blackouts and reservations.

A reservation is the time a resource is taken, buffers included: a hold (expires) or a
booking. On PostgreSQL an exclusion constraint over active reservations makes double
booking impossible; on SQLite the check and the insert share one BEGIN IMMEDIATE.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime


def _resource_fk(nullable: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(
        Uuid, ForeignKey("resources.id", ondelete="CASCADE"), index=True, nullable=nullable
    )


class Resource(TenantBase):
    __tablename__ = "resources"

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="team")
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WeeklyHours(TenantBase):
    """Open from ``opens`` to ``closes`` local time on ``weekday`` (0 = Monday)."""

    __tablename__ = "weekly_hours"

    resource_id: Mapped[uuid.UUID] = _resource_fk()
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("closes > opens", name="opens_before_closes"),
    )


class DateException(TenantBase):
    """A holiday (closed) or special hours on one local date; no resource = every one."""

    __tablename__ = "date_exceptions"

    resource_id: Mapped[uuid.UUID | None] = _resource_fk(nullable=True)
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=True)
    opens: Mapped[time | None] = mapped_column(Time, default=None)
    closes: Mapped[time | None] = mapped_column(Time, default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Blackout(TenantBase):
    __tablename__ = "blackouts"

    resource_id: Mapped[uuid.UUID | None] = _resource_fk(nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (CheckConstraint("ends_at > starts_at", name="blackout_positive_span"),)


class Reservation(TenantBase):
    """Time a resource is taken: [starts_at, ends_at) including buffers."""

    __tablename__ = "reservations"

    resource_id: Mapped[uuid.UUID] = _resource_fk()
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(10))  # hold | booking
    ref_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="reservation_positive_span"),
        # Slot searches: an org's active reservations ending after a day starts (past
        # ones, the bulk of a long-lived business, are never read).
        Index(
            "ix_reservations_org_id_active_ends_at",
            "org_id",
            "ends_at",
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        # Releasing a resource's lapsed holds before a new reservation.
        Index(
            "ix_reservations_resource_id_active_expires_at",
            "resource_id",
            "expires_at",
            postgresql_where=text("active AND expires_at IS NOT NULL"),
            sqlite_where=text("active AND expires_at IS NOT NULL"),
        ),
    )
