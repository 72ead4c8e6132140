"""Reminders before a booking's start, and resending a booking's last email."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from servio.domains.bookings import emails, service
from servio.domains.bookings.models import Booking, BookingStatus
from servio.domains.identity import service as identity
from servio.platform.db import utcnow
from servio.platform.email import last_email, resend_email
from servio.platform.errors import Conflict
from servio.platform.outbox import OutboxMessage


class NoEmailSent(Conflict):
    type = "no-email-sent"
    title = "No email was sent about this booking"
    description = "There is nothing to resend: the booking has no email on record."


def _not_reminded_for_its_start() -> ColumnElement[bool]:
    return or_(Booking.reminded_for.is_(None), Booking.reminded_for != Booking.starts_at)


@dataclass(frozen=True)
class EmailScan:
    reminders_queued: int
    window_hours: int


async def queue_reminders(
    s: AsyncSession, org_id: uuid.UUID, *, now: datetime | None = None
) -> EmailScan:
    """Confirmed bookings starting within the org's reminder window (the setting
    ``bookings.reminder_hours``, default 24) get the reminder email once per start: a
    booking moved to another start is reminded again."""
    now = now or utcnow()
    hours = (await identity.settings_of(s, org_id)).reminder_hours
    due = list(
        await s.scalars(
            service.readable(org_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.starts_at > now,
                Booking.starts_at <= now + timedelta(hours=hours),
                _not_reminded_for_its_start(),
            )
            .order_by(Booking.starts_at)
            .with_for_update()
        )
    )
    for b in due:
        start = b.starts_at.isoformat()
        await emails.send(s, b, "reminder", key=f"reminder:{start}")
        b.reminded_at, b.reminded_for = now, b.starts_at
        await service.record_event(s, b, "reminded", "system", start=start)
    await s.flush()
    return EmailScan(reminders_queued=len(due), window_hours=hours)


async def orgs_with_reminders_ahead(s: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Orgs with a confirmed booking ahead not yet reminded for its start (a query
    across orgs: system scope)."""
    rows = await s.scalars(
        select(Booking.org_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at > now,
            _not_reminded_for_its_start(),
        )
        .distinct()
    )
    return list(rows)


async def resend_last_email(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID, *, actor: str
) -> OutboxMessage:
    """Send the booking's latest email again, exactly as it was, under a new dedupe
    key; the timeline records it. 409 ``no-email-sent`` when nothing was emailed."""
    b = await service.get(s, org_id, booking_id)
    last = await last_email(s, org_id=org_id, key_prefix=emails.email_key(b.id))
    if last is None:
        raise NoEmailSent("Nothing was emailed about this booking yet.")
    again = await resend_email(s, last, dedupe_key=f"{emails.email_key(b.id)}resend:{uuid.uuid4()}")
    template = str(last.payload.get("template", ""))
    await service.record_event(
        s, b, "email_resent", actor, template=template, outbox_id=str(again.id)
    )
    await s.flush()
    return again
