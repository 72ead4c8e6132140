"""The artists' free starts offered to a contact: from the core slot search, within the
windows of their preferred-dates answer, as many as the flow's slot policy says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import machine
from servio.domains.conversations.actions import OfferedSlot, SlotOffer
from servio.domains.conversations.flows import Flow
from servio.domains.scheduling import service as scheduling
from servio.platform.errors import DomainError


def windows(flow: Flow, state: machine.State) -> list[tuple[datetime, datetime]]:
    keys = [q.key for q in flow.questions if q.type == "date_window"]
    found = [state.answers.get(key) for key in keys]
    return [
        (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
        for answer in found
        if isinstance(answer, dict)
        for w in answer.get("windows", [])
    ]


async def offer(
    s: AsyncSession,
    org_id: uuid.UUID,
    flow: Flow,
    state: machine.State,
    now: datetime,
    timezone: str,
) -> SlotOffer | None:
    """Free starts in the contact's preferred windows; None when the flow offers no
    slots or the answers hold no window (an empty offer says the artist will suggest)."""
    policy = flow.slots
    wanted = windows(flow, state)
    if policy is None or not wanted:
        return None
    tz = ZoneInfo(timezone)
    first = min(start for start, _ in wanted).astimezone(tz).date()
    last = max(end for _, end in wanted).astimezone(tz).date()
    days = max(1, min(scheduling.MAX_DAYS, (last - first).days + 1))
    try:
        slots = await scheduling.find_slots(
            s,
            org_id,
            first_day=first,
            days=days,
            duration=timedelta(minutes=policy.duration_minutes),
            now=now,
        )
    except DomainError:
        slots = []
    fits = [
        slot
        for slot in slots
        if any(start <= slot.start <= max(start, end) for start, end in wanted)
    ]
    chosen = fits[: policy.offer]
    if not chosen:
        text = "No free time matches yet; the artist will suggest some times."
        return SlotOffer(text=text, timezone=timezone, slots=[])
    return SlotOffer(
        text="These times are free. Pick one and the artist will confirm:",
        timezone=timezone,
        slots=[
            OfferedSlot(
                id=f"slot:{n}",
                resource_id=slot.resource_id,
                resource_name=slot.resource_name,
                start=slot.start.astimezone(UTC),
                end=slot.end.astimezone(UTC),
                local_start=slot.local_start,
            )
            for n, slot in enumerate(chosen, start=1)
        ],
    )
