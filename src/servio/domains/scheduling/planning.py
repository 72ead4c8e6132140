"""What staff planning shares: reservations as planning sees them, loaded from the org's
rows, and the small time and wording helpers. Planning itself lives in
:mod:`~servio.domains.scheduling.suggestions` (the best starts for a job, each with its
reasons) and :mod:`~servio.domains.scheduling.conflicts` (the problems in a schedule:
overlaps, blackouts, work outside hours)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.scheduling.models import Reservation
from servio.platform.db.scoped import owned

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Booked:
    """An active reservation as planning sees it: the time taken, buffers included."""

    id: uuid.UUID
    resource_id: uuid.UUID
    starts_at: datetime  # aware
    ends_at: datetime
    kind: str  # hold | booking
    ref_id: uuid.UUID | None = None  # the booking, once one owns the reservation


def local_day(at: datetime, tz: tzinfo) -> date:
    return at.astimezone(tz).date()


def overlap(
    a: tuple[datetime, datetime], b: tuple[datetime, datetime]
) -> tuple[datetime, datetime] | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def day_text(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()][:3]} {day.isoformat()}"


async def load_booked(
    s: AsyncSession,
    org_id: uuid.UUID,
    resource_ids: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Booked]:
    """Active reservations (unexpired holds and bookings) meeting [start, end)."""
    if not resource_ids:
        return []
    rows = await s.scalars(
        owned(Reservation, org_id).where(
            Reservation.resource_id.in_(resource_ids),
            Reservation.active.is_(True),
            or_(Reservation.expires_at.is_(None), Reservation.expires_at > now),
            Reservation.starts_at < end,
            Reservation.ends_at > start,
        )
    )
    return [Booked(r.id, r.resource_id, r.starts_at, r.ends_at, r.kind, r.ref_id) for r in rows]


def utc_span(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """UTC bounds wide enough to hold those local days in any time zone."""
    return (
        datetime.combine(first_day, time(0), tzinfo=UTC) - timedelta(days=2),
        datetime.combine(last_day, time(0), tzinfo=UTC) + timedelta(days=3),
    )


__all__ = ["WEEKDAYS", "Booked", "day_text", "load_booked", "local_day", "overlap", "utc_span"]
