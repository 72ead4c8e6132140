"""What a signed-in customer may see and do in one business: their own bookings
(upcoming and past), cancelling or moving one while the business's cut-off allows
(``bookings.cancel_cutoff_hours``, as for deposit refunds), and a copy of everything
the business holds about them. Another customer's or another business's booking is
not found (404), whatever its id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.domains.payments import service as payments
from servio.domains.portal.signin import ClientSession as ClientSession
from servio.domains.scheduling import service as scheduling
from servio.platform.db import utcnow
from servio.platform.db.scoped import owned
from servio.platform.errors import Conflict, DomainError

CHANGEABLE = frozenset({bookings.BookingStatus.PENDING, bookings.BookingStatus.CONFIRMED})
CANCEL_REASON = "Cancelled by the customer online"


class OutsideChangeWindow(Conflict):
    type = "outside-change-window"
    title = "This booking can no longer be changed online"
    description = (
        "Bookings can be cancelled or moved online until the business's cut-off "
        "(`cutoff_hours` before the start) and while they are pending or confirmed."
    )


class NewStartTooSoon(DomainError):
    status = 422
    type = "new-start-too-soon"
    title = "Choose a time further ahead"
    description = "A booking moved online must start after the business's cut-off from now."


@dataclass(frozen=True)
class ChangePolicy:
    """Whether the customer may cancel or move a booking online now, and why not."""

    allowed: bool
    reason: str | None
    cutoff_hours: int
    deadline: datetime  # the last moment a change is accepted online


@dataclass(frozen=True)
class CustomerBookings:
    upcoming: list[bookings.Booking]
    past: list[bookings.Booking]


async def cutoff_hours(s: AsyncSession, org_id: uuid.UUID) -> int:
    return (await identity.settings_of(s, org_id)).cancel_cutoff_hours


def policy_for(b: bookings.Booking, cutoff: int, now: datetime) -> ChangePolicy:
    """The cut-off rule applied to one booking at ``now``."""
    deadline = b.starts_at - timedelta(hours=cutoff)
    if b.status not in CHANGEABLE:
        reason = f"This booking is {b.status.lower().replace('_', ' ')}; it can no longer change."
        return ChangePolicy(False, reason, cutoff, deadline)
    if now > deadline:
        reason = (
            f"Bookings can be cancelled or moved online up to {cutoff} hours before the "
            "start. Please contact the business to change this one."
        )
        return ChangePolicy(False, reason, cutoff, deadline)
    return ChangePolicy(True, None, cutoff, deadline)


async def customer_bookings(
    s: AsyncSession, who: ClientSession, now: datetime | None = None
) -> CustomerBookings:
    """The customer's bookings in the business: pending or confirmed ones still ahead
    (soonest first), and the rest (latest first)."""
    now = now or utcnow()
    rows = list(
        await s.scalars(
            bookings.readable(who.org_id)
            .where(bookings.Booking.email == who.email)
            .order_by(bookings.Booking.starts_at)
        )
    )
    upcoming = [b for b in rows if b.status in CHANGEABLE and b.ends_at > now]
    past = [b for b in reversed(rows) if b not in upcoming]
    return CustomerBookings(upcoming=upcoming, past=past)


async def customer_booking(
    s: AsyncSession, who: ClientSession, booking_id: uuid.UUID, *, lock: bool = False
) -> bookings.Booking:
    """One of the customer's own bookings; any other id is 404 ``booking-not-found``."""
    b = await bookings.get(s, who.org_id, booking_id, lock=lock)
    if b.email != who.email:
        raise bookings.BookingNotFound("No such booking in this business.")
    return b


async def _changeable(
    s: AsyncSession, who: ClientSession, booking_id: uuid.UUID, now: datetime
) -> bookings.Booking:
    b = await customer_booking(s, who, booking_id, lock=True)
    policy = policy_for(b, await cutoff_hours(s, who.org_id), now)
    if not policy.allowed:
        raise OutsideChangeWindow(
            policy.reason or "",
            extra={"cutoff_hours": policy.cutoff_hours, "status": b.status},
        )
    return b


async def cancel(
    s: AsyncSession, who: ClientSession, booking_id: uuid.UUID, *, now: datetime | None = None
) -> bookings.Booking:
    """Cancel the customer's booking before the cut-off; a paid deposit is refunded in
    full by the bookings' cancellation policy (the cut-off is the same)."""
    now = now or utcnow()
    await _changeable(s, who, booking_id, now)
    return await bookings.apply(
        s, who.org_id, booking_id, "cancel", actor=who.actor, reason=CANCEL_REASON
    )


async def reschedule(
    s: AsyncSession,
    who: ClientSession,
    booking_id: uuid.UUID,
    start: datetime,
    *,
    now: datetime | None = None,
) -> bookings.Booking:
    """Move the customer's booking, before the cut-off, to a free start that is itself
    beyond the cut-off; 409 ``slot-taken`` when that time is not free."""
    now = now or utcnow()
    b = await _changeable(s, who, booking_id, now)
    cutoff = await cutoff_hours(s, who.org_id)
    if start <= now + timedelta(hours=cutoff):
        raise NewStartTooSoon(
            f"Choose a time more than {cutoff} hours from now.",
            extra={"field": "start", "cutoff_hours": cutoff},
        )
    return await bookings.reschedule(s, who.org_id, b.id, start, actor=who.actor, now=now)


async def free_starts(
    s: AsyncSession, who: ClientSession, booking_id: uuid.UUID, day: date
) -> list[datetime]:
    """Where the booking could move on ``day``: free starts of its team or artist, of
    the same length, beyond the cut-off."""
    b = await customer_booking(s, who, booking_id)
    cutoff = await cutoff_hours(s, who.org_id)
    earliest = utcnow() + timedelta(hours=cutoff)
    found = await scheduling.find_slots(
        s,
        who.org_id,
        first_day=day,
        days=1,
        duration=b.ends_at - b.starts_at,
        resource_id=b.resource_id,
    )
    return [x.start for x in found if x.start > earliest and x.start != b.starts_at]


def _booking_record(b: bookings.Booking) -> dict[str, Any]:
    return {
        "id": str(b.id),
        "status": b.status,
        "start": b.starts_at.isoformat(),
        "end": b.ends_at.isoformat(),
        "name": b.name,
        "email": b.email,
        "phone": b.phone,
        "inputs": b.inputs,
        "subtotal_cents": b.subtotal_cents,
        "currency": b.currency,
        "deposit_required": b.deposit_required,
        "deposit_cents": b.deposit_cents,
        "refund_cents": b.refund_cents,
        "cancel_reason": b.cancel_reason,
        "created_at": b.created_at.isoformat(),
    }


async def export(s: AsyncSession, who: ClientSession) -> dict[str, Any]:
    """Everything the business holds about the customer: profile, bookings, payments
    and enquiries (leads), as JSON."""
    org = await identity.get_org(s, who.org_id)
    rows = list(
        await s.scalars(
            bookings.readable(who.org_id)
            .where(bookings.Booking.email == who.email)
            .order_by(bookings.Booking.starts_at)
        )
    )
    leads = list(
        await s.scalars(
            intake.readable(who.org_id)
            .where(intake.Lead.email == who.email)
            .order_by(intake.Lead.created_at)
        )
    )
    paid = list(
        await s.scalars(
            owned(payments.Payment, who.org_id)
            .where(
                payments.Payment.booking_id.in_([b.id for b in rows]),
            )
            .order_by(payments.Payment.created_at)
        )
    )
    contacts = [(c.name, c.phone) for c in rows] + [(x.name, x.phone) for x in leads]
    return {
        "exported_at": utcnow().isoformat(),
        "business": {"name": org.name, "slug": org.slug},
        "customer": {
            "email": who.email,
            "names": sorted({name for name, _ in contacts}),
            "phones": sorted({phone for _, phone in contacts if phone}),
        },
        "bookings": [_booking_record(b) for b in rows],
        "payments": [
            {
                "id": str(p.id),
                "booking_id": str(p.booking_id),
                "kind": p.kind,
                "amount_cents": p.amount_cents,
                "currency": p.currency,
                "status": p.status,
                "refunded_cents": p.refunded_cents,
                "created_at": p.created_at.isoformat(),
            }
            for p in paid
        ],
        "leads": [
            {
                "id": str(x.id),
                "created_at": x.created_at.isoformat(),
                "status": x.status,
                "name": x.name,
                "phone": x.phone,
                "address": x.address,
                "inputs": x.inputs,
                "estimate_total_cents": x.estimate_total_cents,
                "currency": x.currency,
                "source": x.source,
                "referral_code": x.referral_code,
            }
            for x in leads
        ],
    }
