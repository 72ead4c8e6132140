"""A business ready to take bookings (one team working 09:00 to 18:00 every day in
America/Edmonton), a booking request for it, and the calendar invitation a booking email
carries."""

from __future__ import annotations

from datetime import datetime, time
from email.message import Message
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar

from servio.domains.identity import service as identity
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database
from tests.support.free_times import free_starts
from tests.support.identity import Account, register

TZ = ZoneInfo("America/Edmonton")


async def business(
    api: httpx.AsyncClient, db: Database, owner_email: str = "ada@example.com"
) -> tuple[Account, datetime]:
    """A registered business with one team, and a free weekday 09:00 five or more days
    ahead, as the app offers it."""
    owner = await register(api, owner_email, "Bright Homes")
    async with db.unit_of_work(system=True) as s:
        org = await identity.get_org(s, owner.org_id)
        org.timezone, org.currency = "America/Edmonton", "CAD"
        await scheduling.add_resource(
            s, owner.org_id, "Team A", "team", {d: [(time(9), time(18))] for d in range(7)}
        )
    free = await free_starts(
        api, owner.org_slug, duration_minutes=60, zone=str(TZ), skip_days=5, days=7
    )
    # The day's first start (09:00) on the first weekday the app offers.
    return owner, next(x for x in free if x.astimezone(TZ).weekday() < 5).astimezone(TZ)


def booking_body(start: datetime, **extra: object) -> dict[str, object]:
    return {
        "name": "Jo Doe",
        "email": "jo@example.com",
        "start": start.isoformat(),
        "inputs": {"beds": 2, "baths": 1},
    } | extra


def invitation(message: Message) -> tuple[Message, Calendar]:
    """The message's one ``text/calendar`` attachment and the calendar it holds."""
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_disposition() == "attachment"
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return part, Calendar.from_ical(data)
