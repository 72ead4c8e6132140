"""The admin metrics over a date range: leads, bookings, conversion, revenue,
deposit rate and how well estimated durations matched."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from servio.domains.bookings.models import Booking, BookingStatus
from servio.domains.intake import service as intake
from servio.platform.db.scoped import in_org

DONE = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)


@dataclass(frozen=True)
class Metrics:
    leads: int
    bookings: int
    confirmed: int
    cancelled: int
    conversion_bps: int  # confirmed or completed bookings per lead, in basis points
    revenue_cents: int  # subtotals of confirmed and completed bookings
    currency: str
    deposit_rate_bps: int  # bookings that required a deposit, in basis points
    deposits_cents: int
    # Completed jobs that reported how long they took, and how well the estimate held:
    # 10,000 - sum|actual - estimated| * 10,000 / sum(estimated) (floored at 0), and the mean
    # overrun in minutes (negative: jobs ran short). None without samples.
    duration_samples: int = 0
    duration_accuracy_bps: int | None = None
    duration_bias_minutes: int | None = None

    def as_dict(self) -> dict[str, int | str | None]:
        return asdict(self)


@dataclass(frozen=True)
class DurationFit:
    samples: int
    accuracy_bps: int | None
    bias_minutes: int | None


def duration_fit(pairs: list[tuple[int, int]]) -> DurationFit:
    """How (estimated, actual) minutes compare; see ``Metrics``."""
    if not pairs:
        return DurationFit(0, None, None)
    estimated = sum(e for e, _ in pairs)
    error = sum(abs(a - e) for e, a in pairs)
    accuracy = max(0, 10_000 - error * 10_000 // estimated) if estimated else 0
    return DurationFit(len(pairs), accuracy, round(sum(a - e for e, a in pairs) / len(pairs)))


async def _durations(s: AsyncSession, *in_range: ColumnElement[bool]) -> DurationFit:
    rows = await s.execute(
        select(Booking.starts_at, Booking.ends_at, Booking.actual_minutes).where(
            *in_range,
            Booking.status == BookingStatus.COMPLETED,
            Booking.actual_minutes.is_not(None),
        )
    )
    pairs = [(int((end - start).total_seconds() // 60), a or 0) for start, end, a in rows]
    return duration_fit(pairs)


async def compute(
    s: AsyncSession, org_id: uuid.UUID, start: datetime, end: datetime, currency: str
) -> Metrics:
    leads = await intake.count_created(s, org_id, start, end)
    in_range = (in_org(Booking, org_id), Booking.created_at >= start, Booking.created_at < end)
    rows = (
        await s.execute(
            select(
                func.count(),
                func.count().filter(Booking.status.in_(DONE)),
                func.count().filter(Booking.status == BookingStatus.CANCELLED),
                func.coalesce(func.sum(Booking.subtotal_cents).filter(Booking.status.in_(DONE)), 0),
                func.count().filter(Booking.deposit_required.is_(True)),
                func.coalesce(
                    func.sum(Booking.deposit_cents).filter(Booking.deposit_required.is_(True)), 0
                ),
            ).where(*in_range)
        )
    ).one()
    total, confirmed, cancelled, revenue, with_deposit, deposits = (int(x or 0) for x in rows)
    fit = await _durations(s, *in_range)
    return Metrics(
        leads=leads,
        bookings=total,
        confirmed=confirmed,
        cancelled=cancelled,
        conversion_bps=confirmed * 10_000 // leads if leads else 0,
        revenue_cents=revenue,
        currency=currency,
        deposit_rate_bps=with_deposit * 10_000 // total if total else 0,
        deposits_cents=deposits,
        duration_samples=fit.samples,
        duration_accuracy_bps=fit.accuracy_bps,
        duration_bias_minutes=fit.bias_minutes,
    )
