"""Reading bookings for the staff: a filtered list (status, local day range, the
customer's name or email), the bookings starting in a span (today's, a board's), and
the figures of each local day of a span (bookings made, revenue, deposit rate) from one
query over the columns it needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings.metrics import DONE
from servio.domains.bookings.models import STATUSES, Booking, BookingStatus
from servio.domains.bookings.service import readable
from servio.platform import pagination
from servio.platform.db.scoped import in_org

# A board or a day list shows the bookings holding time: not the cancelled or lapsed.
HOLDING_TIME = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)


@dataclass(frozen=True)
class BookingFilter:
    status: str | None = None
    since: date | None = None  # local days, inclusive
    until: date | None = None
    search: str | None = None  # part of the customer's name or email
    limit: int = 100


def local_span(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) in the zone ``tz``."""
    start = datetime.combine(first, time(0), tzinfo=tz)
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)


def filtered(org_id: uuid.UUID, tz: ZoneInfo, f: BookingFilter) -> Select[Booking]:
    stmt = readable(org_id)
    if f.since:
        stmt = stmt.where(Booking.starts_at >= local_span(f.since, f.since, tz)[0])
    if f.until:
        stmt = stmt.where(Booking.starts_at < local_span(f.until, f.until, tz)[1])
    if f.status in STATUSES:
        stmt = stmt.where(Booking.status == f.status)
    text = (f.search or "").strip().lower()
    if text:
        like = f"%{text}%"
        stmt = stmt.where(or_(Booking.email.like(like), Booking.name.ilike(like)))
    return stmt


BY_START = pagination.ByTimeAndId(Booking.starts_at, Booking.id, descending=False)


async def search(
    s: AsyncSession, org_id: uuid.UUID, tz: ZoneInfo, f: BookingFilter
) -> list[Booking]:
    """The org's bookings matching ``f``, by start time."""
    return (await page(s, org_id, tz, f, None)).items


async def page(
    s: AsyncSession, org_id: uuid.UUID, tz: ZoneInfo, f: BookingFilter, cursor: str | None
) -> pagination.Page[Booking]:
    """One page of the org's bookings matching ``f``, by start time, after ``cursor``."""
    return await pagination.keyset_page(
        s, filtered(org_id, tz, f), BY_START, cursor=cursor, limit=f.limit
    )


async def starting_between(
    s: AsyncSession,
    org_id: uuid.UUID,
    start: datetime,
    end: datetime,
    statuses: tuple[str, ...] = HOLDING_TIME,
) -> list[Booking]:
    """Bookings in ``statuses`` starting in [start, end), by start time."""
    stmt = (
        readable(org_id)
        .where(Booking.starts_at >= start, Booking.starts_at < end, Booking.status.in_(statuses))
        .order_by(Booking.starts_at, Booking.id)
    )
    return list(await s.scalars(stmt))


@dataclass(frozen=True)
class DayFigures:
    day: date
    bookings: int  # made that day
    done: int  # of them, confirmed or completed
    revenue_cents: int  # subtotals of those confirmed or completed
    with_deposit: int

    @property
    def deposit_rate_bps(self) -> int:
        return self.with_deposit * 10_000 // self.bookings if self.bookings else 0


async def daily_figures(
    s: AsyncSession, org_id: uuid.UUID, first: date, last: date, tz: ZoneInfo
) -> list[DayFigures]:
    """Each local day from ``first`` to ``last``: the bookings made that day (as the
    metrics count them, by creation), their revenue and how many required a deposit."""
    start, end = local_span(first, last, tz)
    rows = await s.execute(
        select(
            Booking.created_at, Booking.status, Booking.subtotal_cents, Booking.deposit_required
        ).where(in_org(Booking, org_id), Booking.created_at >= start, Booking.created_at < end)
    )
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    made = dict.fromkeys(days, 0)
    done = dict.fromkeys(days, 0)
    revenue = dict.fromkeys(days, 0)
    deposits = dict.fromkeys(days, 0)
    for created, status, subtotal, deposit in rows:
        day = created.astimezone(tz).date()
        if day not in made:
            continue
        made[day] += 1
        deposits[day] += 1 if deposit else 0
        if status in DONE:
            done[day] += 1
            revenue[day] += subtotal or 0
    return [DayFigures(d, made[d], done[d], revenue[d], deposits[d]) for d in days]


@dataclass(frozen=True)
class PeriodTotals:
    """A span's figures as ``/v1/admin/metrics`` defines them (bookings by creation,
    revenue of the confirmed and completed, the share that required a deposit)."""

    bookings: int
    done: int
    revenue_cents: int
    deposit_rate_bps: int


def period_totals(days: list[DayFigures]) -> PeriodTotals:
    made = sum(d.bookings for d in days)
    with_deposit = sum(d.with_deposit for d in days)
    return PeriodTotals(
        bookings=made,
        done=sum(d.done for d in days),
        revenue_cents=sum(d.revenue_cents for d in days),
        deposit_rate_bps=with_deposit * 10_000 // made if made else 0,
    )
