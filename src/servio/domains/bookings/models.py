"""Bookings and their timelines."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime, utcnow


class BookingStatus(StrEnum):
    """A booking's status, stored and shown as its name."""

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"
    EXPIRED = "EXPIRED"


STATUSES = tuple(BookingStatus)


class Booking(TenantBase):
    __tablename__ = "bookings"

    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("leads.id", ondelete="SET NULL"), default=None
    )
    resource_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("resources.id", ondelete="RESTRICT"), index=True
    )
    reservation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("reservations.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=BookingStatus.PENDING, index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    subtotal_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3))
    deposit_required: Mapped[bool] = mapped_column(Boolean, default=False)
    deposit_cents: Mapped[int] = mapped_column(Integer, default=0)
    deposit_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A paid deposit keeps the booking PENDING (its slot firmly held) until staff
    # confirm it, as a tattoo artist does; otherwise the deposit confirms it.
    staff_confirms: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    cancel_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # The deposit returned when the booking was cancelled (None: not cancelled).
    refund_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    # Minutes the job really took, reported on completion (estimate accuracy).
    actual_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    # The reminder went out at ``reminded_at`` for the start ``reminded_for``; a booking
    # moved to another start is reminded again.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reminded_for: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: each UPDATE is made ``WHERE version = <the version read>`` and
    # fails (StaleDataError) when another transaction changed the row first. The service
    # moves the version itself, on the changes its ETag or history stands for.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class BookingEvent(TenantBase):
    """One line of a booking's timeline."""

    __tablename__ = "booking_events"

    booking_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
