"""WhatsApp reminders before a booked tattoo appointment: the 24 h one, then the 2 h
one, each once per start, as the org's reminder template when the window is closed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import httpx

from servio.domains.bookings import service as bookings
from servio.domains.catalog.service import Catalog
from servio.domains.conversations.models import Conversation
from servio.domains.conversations.reminders import due_marks, send_due_everywhere
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database, utcnow
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph

CLIENT = "+15551230001"
ALL_DAY = {day: [(time(0), time(23, 30))] for day in range(7)}


def test_the_nearest_reminder_is_the_one_due() -> None:
    start = datetime(2027, 3, 3, 15, tzinfo=UTC)
    assert due_marks(start, start - timedelta(hours=30)) == []
    assert due_marks(start, start - timedelta(hours=20)) == ["24h"]
    assert due_marks(start, start - timedelta(hours=1)) == ["2h"]
    assert due_marks(start, start + timedelta(minutes=1)) == []


async def _booked(db: Database, org_id: uuid.UUID, now: datetime) -> datetime:
    """A confirmed two-hour appointment with an artist between 3 and 23 hours from
    ``now`` (a start the app offers), and the WhatsApp conversation that made it."""
    async with db.unit_of_work(org_id) as s:
        artist = await scheduling.add_resource(s, org_id, "Mara", "artist", ALL_DAY)
        free = await scheduling.find_slots(
            s,
            org_id,
            first_day=now.date() - timedelta(days=1),
            days=3,
            duration=timedelta(hours=2),
            resource_id=artist.id,
            now=now - timedelta(days=2),
        )
        start = next(
            x.start
            for x in free
            if now + timedelta(hours=3) <= x.start <= now + timedelta(hours=23)
        )
        made = await bookings.create(
            s,
            Catalog(None),
            org_id,
            bookings.BookingRequest(
                name="Sam",
                email="sam@example.com",
                phone=None,
                start=start,
                inputs=None,
                duration_minutes=120,
                resource_id=artist.id,
                lead_id=None,
                deposit_cents=100_00,  # the studio's deposit (tattoo.toml)
                staff_confirms=True,
            ),
            now=start - timedelta(days=2),
        )
        await bookings.apply(s, org_id, made.id, "confirm", actor="artist")
        s.add(
            Conversation(
                org_id=org_id,
                channel="whatsapp",
                contact=CLIENT,
                vertical="tattoo",
                stage="BOOKED",
                booking_id=made.id,
            )
        )
        return start


async def test_reminders_go_24_and_2_hours_before_once_each(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    now = utcnow()
    start = await _booked(db, studio, now)

    assert await send_due_everywhere(db, now) == 1
    assert await send_due_everywhere(db, now + timedelta(minutes=5)) == 1  # same key: no new row
    await deliver_outbox(api)
    [first] = graph.sent
    template = first["body"]["template"]
    assert template["name"] == "inkwell_appointment_reminder"  # the window is closed
    assert first["body"]["to"] == CLIENT.lstrip("+")

    await send_due_everywhere(db, start - timedelta(hours=1, minutes=30))
    await deliver_outbox(api)
    assert len(graph.sent) == 2  # the 2 h reminder
    await send_due_everywhere(db, start - timedelta(hours=1))
    await deliver_outbox(api)
    assert len(graph.sent) == 2  # never twice
