"""WhatsApp reminders before a booked appointment: 24 h and 2 h before the start, once
each per start (a moved booking is reminded again). Sent through ``messaging.send``
with the purpose ``reminder``, so outside the 24 h window the org's approved reminder
template goes, with the local time as its parameter."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.conversations.machine import Stage
from servio.domains.conversations.models import Conversation
from servio.domains.identity import service as identity
from servio.domains.messaging import service as messaging
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import owned
from servio.platform.jobs.per_org import in_each_org

LEADS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
JOB = "conversations.whatsapp_reminders"


def due_marks(start: datetime, now: datetime) -> list[str]:
    """Which reminders fall due at ``now`` for a start (the nearest first: a booking
    made 3 h ahead gets only its 24 h one now, and its 2 h one later)."""
    if start <= now:
        return []
    return [mark for mark, lead in LEADS.items() if start - lead <= now][-1:]


async def _remind(s: AsyncSession, org_id: uuid.UUID, row: Conversation, now: datetime) -> int:
    if row.booking_id is None or row.opted_out:
        return 0
    found = await bookings.get(s, org_id, row.booking_id)
    if found.status != bookings.BookingStatus.CONFIRMED:
        return 0
    tz = ZoneInfo((await identity.get_org(s, org_id)).timezone)
    when = found.starts_at.astimezone(tz).strftime("%A %d %B at %H:%M")
    sent = 0
    for mark in due_marks(found.starts_at, now):
        await messaging.send(
            s,
            org_id,
            to=row.contact,
            dedupe_key=f"reminder:{found.id}:{mark}:{found.starts_at.isoformat()}",
            text=f"A reminder: your appointment is on {when}. Reply HUMAN to talk to us.",
            purpose="reminder",
            template_params=[when],
        )
        sent += 1
    return sent


async def send_due(s: AsyncSession, org_id: uuid.UUID, now: datetime | None = None) -> int:
    """Queue the org's due WhatsApp reminders; a repeat queues nothing new (the send's
    dedupe key names the booking, the mark and the start)."""
    now = now or utcnow()
    rows = await s.scalars(
        owned(Conversation, org_id).where(
            Conversation.channel == messaging.WHATSAPP,
            Conversation.stage == Stage.BOOKED,
            Conversation.booking_id.is_not(None),
        )
    )
    return sum([await _remind(s, org_id, row, now) for row in rows])


async def orgs_with_booked(s: AsyncSession, _now: datetime) -> list[uuid.UUID]:
    """Orgs with a booked WhatsApp conversation (a query across orgs: system scope)."""
    rows = await s.scalars(
        select(Conversation.org_id)
        .where(Conversation.stage == Stage.BOOKED, Conversation.booking_id.is_not(None))
        .distinct()
    )
    return list(rows)


async def send_due_everywhere(db: Database, now: datetime | None = None) -> int:
    """The scheduled job: every org with a booked WhatsApp conversation."""

    async def remind(s: AsyncSession, org_id: uuid.UUID) -> int:
        return await send_due(s, org_id, moment)

    moment = now or utcnow()
    return await in_each_org(db, JOB, orgs_with_booked, remind, now=moment)
