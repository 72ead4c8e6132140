"""Scheduling rules applied to the database: calendars, free slots, reservations."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.scheduling.models import (
    Blackout,
    DateException,
    Reservation,
    Resource,
    WeeklyHours,
)
from servio.domains.scheduling.slots import Calendar, Rules, Slot, Window, free_slots
from servio.platform.db import utcnow
from servio.platform.db.scoped import in_org, owned
from servio.platform.errors import Conflict, DomainError, NotFound

DEFAULT_HOURS = (time(9), time(18))
MAX_DAYS = 31


class ResourceNotFound(NotFound):
    type = "resource-not-found"
    title = "No such resource"


class InvalidSlotRequest(DomainError):
    status = 422
    type = "invalid-slot-request"
    title = "The slot request cannot be answered"


class SlotTaken(Conflict):
    type = "slot-taken"
    title = "That time is no longer free"
    description = "Someone else holds that time; `alternatives` lists free starts nearby."


def rules_from(settings: identity.OrgSettings) -> Rules:
    return Rules(
        step=timedelta(minutes=settings.slot_step_minutes),
        buffer_before=timedelta(minutes=settings.buffer_before_minutes),
        buffer_after=timedelta(minutes=settings.buffer_after_minutes),
        min_notice=timedelta(minutes=settings.min_notice_minutes),
        horizon=timedelta(days=settings.horizon_days),
    )


async def _resources(
    s: AsyncSession, org_id: uuid.UUID, resource_id: uuid.UUID | None
) -> list[Resource]:
    stmt = owned(Resource, org_id).where(Resource.active.is_(True))
    if resource_id is not None:
        stmt = stmt.where(Resource.id == resource_id)
    rows = list(await s.scalars(stmt.order_by(Resource.name)))
    if resource_id is not None and not rows:
        raise ResourceNotFound("No such resource in this business.")
    return rows


async def list_resources(
    s: AsyncSession, org_id: uuid.UUID, resource_id: uuid.UUID | None = None
) -> list[Resource]:
    """Active resources of the org (one, when ``resource_id`` is given; 404 if not its)."""
    return await _resources(s, org_id, resource_id)


async def _busy(
    s: AsyncSession,
    org_id: uuid.UUID,
    start: datetime,
    end: datetime,
    now: datetime,
    resource_id: uuid.UUID | None = None,
) -> dict[uuid.UUID | None, list[tuple[datetime, datetime]]]:
    """Busy intervals by resource (None: every resource) overlapping [start, end); only
    the columns, since a long span of a large business holds thousands of reservations."""
    taken: dict[uuid.UUID | None, list[tuple[datetime, datetime]]] = defaultdict(list)
    reservations = select(
        Reservation.resource_id, Reservation.starts_at, Reservation.ends_at
    ).where(
        in_org(Reservation, org_id),
        Reservation.active,  # as the partial indexes say it
        or_(Reservation.expires_at.is_(None), Reservation.expires_at > now),
        Reservation.starts_at < end,
        Reservation.ends_at > start,
    )
    if resource_id is not None:
        reservations = reservations.where(Reservation.resource_id == resource_id)
    blackouts = select(Blackout.resource_id, Blackout.starts_at, Blackout.ends_at).where(
        in_org(Blackout, org_id), Blackout.starts_at < end, Blackout.ends_at > start
    )
    for owner, starts_at, ends_at in await s.execute(reservations.union_all(blackouts)):
        taken[owner].append((starts_at, ends_at))
    return taken


async def _resources_and_hours(
    s: AsyncSession, org_id: uuid.UUID, resource_id: uuid.UUID | None
) -> tuple[dict[uuid.UUID, tuple[str, str | None]], dict[uuid.UUID, dict[int, list[Window]]]]:
    """Active resources by name (name and time zone, one when ``resource_id`` is given;
    404 if not the org's) and their weekly hours, in one query."""
    stmt = (
        select(
            Resource.id,
            Resource.name,
            Resource.timezone,
            WeeklyHours.weekday,
            WeeklyHours.opens,
            WeeklyHours.closes,
        )
        .outerjoin(
            WeeklyHours,
            (WeeklyHours.resource_id == Resource.id) & (in_org(WeeklyHours, org_id)),
        )
        .where(in_org(Resource, org_id), Resource.active.is_(True))
        .order_by(Resource.name, Resource.id, WeeklyHours.weekday, WeeklyHours.opens)
    )
    if resource_id is not None:
        stmt = stmt.where(Resource.id == resource_id)
    resources: dict[uuid.UUID, tuple[str, str | None]] = {}
    weekly: dict[uuid.UUID, dict[int, list[Window]]] = defaultdict(lambda: defaultdict(list))
    for rid, name, timezone, weekday, opens, closes in await s.execute(stmt):
        resources.setdefault(rid, (name, timezone))
        if weekday is not None:  # a resource without hours keeps the default week
            weekly[rid][weekday].append(Window(opens, closes))
    if resource_id is not None and not resources:
        raise ResourceNotFound("No such resource in this business.")
    return resources, weekly


async def calendars(
    s: AsyncSession,
    org_id: uuid.UUID,
    days: list[date],
    resource_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[Calendar]:
    org = await identity.get_org(s, org_id)
    resources, weekly = await _resources_and_hours(s, org_id, resource_id)
    exceptions: dict[uuid.UUID | None, dict[date, list[Window]]] = defaultdict(dict)
    special = select(
        DateException.resource_id,
        DateException.day,
        DateException.closed,
        DateException.opens,
        DateException.closes,
    ).where(in_org(DateException, org_id), DateException.day.in_(days))
    for scope, day, closed, starts, ends in await s.execute(special):
        exceptions[scope][day] = [] if closed or not (starts and ends) else [Window(starts, ends)]
    span_start = datetime.combine(min(days), time(0), tzinfo=UTC) - timedelta(days=1)
    span_end = datetime.combine(max(days), time(0), tzinfo=UTC) + timedelta(days=2)
    busy = await _busy(s, org_id, span_start, span_end, now or utcnow(), resource_id)
    default_week = {d: [Window(*DEFAULT_HOURS)] for d in range(7)}
    return [
        Calendar(
            resource_id=rid,
            name=name,
            tz=ZoneInfo(timezone or org.timezone),
            weekly=weekly.get(rid, default_week),
            exceptions={**exceptions[None], **exceptions[rid]},
            busy=[*busy[None], *busy[rid]],
        )
        for rid, (name, timezone) in resources.items()
    ]


async def find_slots(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    first_day: date,
    days: int,
    duration: timedelta,
    resource_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidSlotRequest(f"days must be between 1 and {MAX_DAYS}.", extra={"field": "days"})
    now = now or utcnow()
    rules = rules_from(await identity.settings_of(s, org_id))
    check_first_day(first_day, now, (await identity.get_org(s, org_id)).timezone, rules)
    span = [first_day + timedelta(days=i) for i in range(days)]
    return await _search(s, org_id, rules, span, duration, resource_id, now)


def check_first_day(first_day: date, now: datetime, timezone: str, rules: Rules) -> None:
    """A search starts today or later, and no later than the booking horizon (422
    ``invalid-slot-request`` naming ``date``)."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    if first_day < today:
        raise InvalidSlotRequest(
            f"date {first_day.isoformat()} is in the past; today is {today.isoformat()} "
            f"in {timezone}.",
            extra={"field": "date"},
        )
    horizon_day = (now + rules.horizon).astimezone(tz).date()
    if first_day > horizon_day:
        raise InvalidSlotRequest(
            f"date {first_day.isoformat()} is beyond the booking horizon; the last bookable "
            f"day is {horizon_day.isoformat()}.",
            extra={"field": "date"},
        )


async def _search(
    s: AsyncSession,
    org_id: uuid.UUID,
    rules: Rules,
    span: list[date],
    duration: timedelta,
    resource_id: uuid.UUID | None,
    now: datetime,
) -> list[Slot]:
    found: list[Slot] = []
    cals = await calendars(s, org_id, span, resource_id, now)
    longest = max(
        (
            datetime.combine(span[0], w.closes) - datetime.combine(span[0], w.opens)
            for cal in cals
            for ws in [*cal.weekly.values(), *cal.exceptions.values()]
            for w in ws
        ),
        default=None,
    )
    if longest is not None and duration > longest:
        raise InvalidSlotRequest(
            "The job is longer than any working day.", extra={"field": "duration_minutes"}
        )
    for cal in cals:
        found.extend(free_slots(cal, span, duration, rules, now))
    return sorted(found, key=attrgetter("start", "resource_name"))


async def reserve(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    resource_id: uuid.UUID,
    start: datetime,
    duration: timedelta,
    kind: str,
    ref_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Take the time for a hold or a booking, or raise ``SlotTaken`` with alternatives.
    The caller's session must be a writer (on SQLite every writer begins IMMEDIATE);
    PostgreSQL's exclusion constraint decides between concurrent callers."""
    now = now or utcnow()
    rules = rules_from(await identity.settings_of(s, org_id))
    local_day = start.astimezone(ZoneInfo((await identity.get_org(s, org_id)).timezone)).date()
    offered = await _search(s, org_id, rules, [local_day], duration, resource_id, now)
    if not any(x.start == start.astimezone(UTC) for x in offered):
        raise SlotTaken(
            "That start is not free.", extra={"alternatives": _alternatives(offered, start)}
        )
    await _release_expired(s, org_id, resource_id, now)
    row = Reservation(
        org_id=org_id,
        resource_id=resource_id,
        starts_at=start - rules.buffer_before,
        ends_at=start + duration + rules.buffer_after,
        kind=kind,
        ref_id=ref_id,
        expires_at=expires_at,
    )
    try:
        async with s.begin_nested():
            s.add(row)
            await s.flush()
    except IntegrityError as exc:
        raise SlotTaken(
            "Someone else took that time a moment ago.",
            extra={"alternatives": _alternatives(offered, start)},
        ) from exc
    return row


def _alternatives(offered: list[Slot], wanted: datetime) -> list[dict[str, str]]:
    near = sorted((x for x in offered if x.start != wanted), key=lambda x: abs(x.start - wanted))[
        :5
    ]
    return [{"start": x.start.isoformat(), "resource_id": str(x.resource_id)} for x in near]


async def set_reservation(
    s: AsyncSession, reservation_id: uuid.UUID, *, active: bool, kind: str | None = None
) -> None:
    """Take up (``active``) or free a reservation; with ``kind`` (a hold becoming a
    ``booking``) it also stops expiring."""
    values: dict[str, Any] = {"active": active}
    if kind:
        values |= {"kind": kind, "expires_at": None}
    await s.execute(
        update(Reservation).where(Reservation.id == reservation_id).values(**values),
        execution_options={"synchronize_session": False},
    )


async def _release_expired(
    s: AsyncSession, org_id: uuid.UUID, resource_id: uuid.UUID, now: datetime
) -> None:
    await s.execute(
        update(Reservation)
        .where(
            in_org(Reservation, org_id),
            Reservation.resource_id == resource_id,
            Reservation.active,  # as the partial indexes say it
            Reservation.expires_at.is_not(None),
            Reservation.expires_at <= now,
        )
        .values(active=False),
        execution_options={"synchronize_session": False},
    )


async def add_resource(
    s: AsyncSession,
    org_id: uuid.UUID,
    name: str,
    kind: str = "team",
    hours: dict[int, list[tuple[time, time]]] | None = None,
) -> Resource:
    resource = Resource(org_id=org_id, name=name, kind=kind)
    s.add(resource)
    await s.flush()
    for weekday, windows in (hours or {}).items():
        for opens, closes in windows:
            s.add(
                WeeklyHours(
                    org_id=org_id,
                    resource_id=resource.id,
                    weekday=weekday,
                    opens=opens,
                    closes=closes,
                )
            )
    await s.flush()
    return resource


__all__ = [
    "Reservation",
    "SlotTaken",
    "add_resource",
    "find_slots",
    "list_resources",
    "reserve",
]
