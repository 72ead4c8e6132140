"""The customer's emails about a booking: composed here, sent after commit through
the outbox, each once per booking version (or per key), with the calendar invitation
attached when the booking's time is settled or withdrawn."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings.invites import Method, invitation
from servio.domains.bookings.models import Booking
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.platform.email import send_email

EMAIL_TEMPLATES = Path(__file__).parent / "templates"


def email_key(booking_id: uuid.UUID) -> str:
    """The start of the dedupe key of every email about a booking."""
    return f"booking:{booking_id}:"


async def location(s: AsyncSession, b: Booking) -> str | None:
    if b.lead_id is None:
        return None
    return intake.postal_address(await intake.get_lead(s, b.org_id, b.lead_id))


async def send(
    s: AsyncSession,
    b: Booking,
    template: str,
    *,
    key: str | None = None,
    invite: Method | None = None,
    **extra: Any,
) -> None:
    """Tell the customer, after commit, through the outbox: once per booking version, or
    once per ``key``. ``invite`` attaches the calendar event (REQUEST or CANCEL)."""
    if not b.email:  # reached on another channel, which tells them itself
        return
    org = await identity.get_org(s, b.org_id)
    tz = ZoneInfo(org.timezone)
    attachments = []
    if invite is not None:
        where = await location(s, b)
        attachments.append(invitation(b, business=org.name, location=where, method=invite))
    context = {
        "name": b.name,
        "when": b.starts_at.astimezone(tz).strftime("%A %d %B %Y at %H:%M"),
        "reference": str(b.id)[:8].upper(),
        "deposit_cents": b.deposit_cents,
        "deposit": f"{b.deposit_cents // 100}.{b.deposit_cents % 100:02d} {b.currency}",
        "hold_until": b.hold_expires_at.astimezone(tz).strftime("%H:%M")
        if b.hold_expires_at
        else "",
        **extra,
    }
    await send_email(
        s,
        to=b.email,
        template=f"bookings/{template}",
        context=context,
        dedupe_key=email_key(b.id) + (key or f"{template}:{b.version}"),
        org_id=b.org_id,
        attachments=attachments,
    )
