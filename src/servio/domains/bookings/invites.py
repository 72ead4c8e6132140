"""Calendar invitations (RFC 5545 / iTIP) attached to booking emails, built with
``icalendar``: one UID per booking, so each new version (SEQUENCE = the booking's
version) updates the event the customer's calendar already holds, and a cancellation
removes it."""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from icalendar import Calendar, Event, vCalAddress

from servio.domains.bookings.models import Booking
from servio.platform.email import Attachment

Method = Literal["REQUEST", "CANCEL"]
PRODID = "-//Servio//Bookings//EN"


def event_uid(b: Booking) -> str:
    return f"booking-{b.id}@servio"


def invitation(
    b: Booking, *, business: str, location: str | None, method: Method = "REQUEST"
) -> Attachment:
    """``invite.ics`` for ``b``: its times in UTC, ``business`` in the summary, the
    address as the location when known; ``CANCEL`` withdraws the event."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", event_uid(b))
    event.add("dtstamp", b.updated_at.astimezone(UTC))
    event.add("dtstart", b.starts_at.astimezone(UTC))
    event.add("dtend", b.ends_at.astimezone(UTC))
    event.add("sequence", b.version)
    event.add("summary", f"Booking with {business}")
    event.add("description", f"Reference: {str(b.id)[:8].upper()}")
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if location:
        event.add("location", location)
    attendee = vCalAddress(f"mailto:{b.email}")
    attendee.params["cn"] = b.name
    attendee.params["partstat"] = "ACCEPTED"
    event.add("attendee", attendee)
    calendar.add_component(event)
    return Attachment(
        filename="invite.ics",
        content_type=f"text/calendar; method={method}",
        content=calendar.to_ical().decode(),
    )
