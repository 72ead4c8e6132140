"""When resources can be booked, as staff set it: weekly opening hours per resource and
blackouts (times nothing, or one resource, can be booked)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from itertools import pairwise

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.scheduling.models import Blackout, WeeklyHours
from servio.domains.scheduling.service import list_resources
from servio.platform.db.scoped import get_owned, in_org, owned
from servio.platform.errors import DomainError, NotFound

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Week = dict[int, list[tuple[time, time]]]


class InvalidHours(DomainError):
    status = 422
    type = "invalid-hours"
    title = "The opening hours are not valid"
    description = "Each opening closes after it opens, and a day's openings do not overlap."


class InvalidBlackout(DomainError):
    status = 422
    type = "invalid-blackout"
    title = "The blackout is not valid"


class BlackoutNotFound(NotFound):
    type = "blackout-not-found"
    title = "No such blackout"


def check_week(hours: Week) -> Week:
    """Openings sorted by day and time; 422 naming the day when one is impossible."""
    errors = []
    for weekday, windows in sorted(hours.items()):
        field, day = f"hours.{weekday}", WEEKDAYS[weekday % 7]
        if not 0 <= weekday <= 6:
            errors.append({"field": field, "message": "a weekday is 0 (Monday) to 6 (Sunday)"})
            continue
        ordered = sorted(windows)
        if any(closes <= opens for opens, closes in ordered):
            errors.append({"field": field, "message": f"{day} closes before it opens"})
        elif any(a[1] > b[0] for a, b in pairwise(ordered)):
            errors.append({"field": field, "message": f"{day}'s openings overlap"})
        hours[weekday] = ordered
    if errors:
        raise InvalidHours(errors[0]["message"], extra={"errors": errors})
    return {day: windows for day, windows in sorted(hours.items()) if windows}


async def weekly_hours(s: AsyncSession, org_id: uuid.UUID) -> dict[uuid.UUID, Week]:
    """Each active resource's openings by weekday (a resource with none is absent)."""
    rows = await s.scalars(
        owned(WeeklyHours, org_id).order_by(WeeklyHours.weekday, WeeklyHours.opens)
    )
    found: dict[uuid.UUID, Week] = {}
    for row in rows:
        found.setdefault(row.resource_id, {}).setdefault(row.weekday, []).append(
            (row.opens, row.closes)
        )
    return found


async def set_weekly_hours(
    s: AsyncSession, org_id: uuid.UUID, resource_id: uuid.UUID, hours: Week
) -> Week:
    """Replace a resource's weekly openings; a day left out is closed."""
    await list_resources(s, org_id, resource_id)  # 404 when not this org's
    checked = check_week(dict(hours))
    await s.execute(
        delete(WeeklyHours).where(
            in_org(WeeklyHours, org_id), WeeklyHours.resource_id == resource_id
        )
    )
    for weekday, windows in checked.items():
        for opens, closes in windows:
            s.add(
                WeeklyHours(
                    org_id=org_id,
                    resource_id=resource_id,
                    weekday=weekday,
                    opens=opens,
                    closes=closes,
                )
            )
    await s.flush()
    return checked


async def list_blackouts(
    s: AsyncSession, org_id: uuid.UUID, ending_after: datetime | None = None
) -> list[Blackout]:
    """The org's blackouts by start; only those not over yet when ``ending_after``."""
    stmt = owned(Blackout, org_id)
    if ending_after is not None:
        stmt = stmt.where(Blackout.ends_at > ending_after)
    return list(await s.scalars(stmt.order_by(Blackout.starts_at, Blackout.id)))


async def add_blackout(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    resource_id: uuid.UUID | None = None,
) -> Blackout:
    """Block a span for one resource, or for all of them when none is named."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidBlackout("Times need a UTC offset.", extra={"field": "starts_at"})
    if ends_at <= starts_at:
        raise InvalidBlackout("The blackout must end after it starts.", extra={"field": "ends_at"})
    if resource_id is not None:
        await list_resources(s, org_id, resource_id)
    row = Blackout(
        org_id=org_id, resource_id=resource_id, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    s.add(row)
    await s.flush()
    return row


async def remove_blackout(s: AsyncSession, org_id: uuid.UUID, blackout_id: uuid.UUID) -> Blackout:
    """Lift a blackout; 404 when it is not this org's."""
    missing = BlackoutNotFound("No such blackout in this business.")
    row = await get_owned(s, Blackout, blackout_id, org_id, missing=missing)
    await s.delete(row)
    await s.flush()
    return row
