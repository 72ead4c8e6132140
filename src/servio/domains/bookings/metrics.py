"""Seed 002's admin metrics over a date range: leads, bookings, conversion, revenue,
deposit rate and how well estimated durations matched."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings.models import Booking
from servio.domains.intake import service as intake

DONE = ("CONFIRMED", "COMPLETED")


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

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


async def compute(
    s: AsyncSession, org_id: uuid.UUID, start: datetime, end: datetime, currency: str
) -> Metrics:
    leads = await intake.count_created(s, org_id, start, end)
    in_range = (Booking.org_id == org_id, Booking.created_at >= start, Booking.created_at < end)
    rows = (
        await s.execute(
            select(
                func.count(),
                func.count().filter(Booking.status.in_(DONE)),
                func.count().filter(Booking.status == "CANCELLED"),
                func.coalesce(func.sum(Booking.subtotal_cents).filter(Booking.status.in_(DONE)), 0),
                func.count().filter(Booking.deposit_required.is_(True)),
                func.coalesce(
                    func.sum(Booking.deposit_cents).filter(Booking.deposit_required.is_(True)), 0
                ),
            ).where(*in_range)
        )
    ).one()
    total, confirmed, cancelled, revenue, with_deposit, deposits = (int(x or 0) for x in rows)
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
    )
