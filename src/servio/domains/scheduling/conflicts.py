"""The problems in a schedule: overlaps, blackouts, work outside hours.

``detect_conflicts`` is a pure function of plain data; ``find_conflicts`` loads the org's
rows and reads them with the scheduling service's own calendars, so a reservation the
slot finder could have offered is never reported as a conflict.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.scheduling import service
from servio.domains.scheduling.models import Blackout, DateException
from servio.domains.scheduling.planning import (
    WEEKDAYS,
    Booked,
    day_text,
    load_booked,
    local_day,
    overlap,
    utc_span,
)
from servio.domains.scheduling.slots import Calendar, Rules, local_instant, windows_on
from servio.platform.db import utcnow
from servio.platform.db.scoped import owned
from servio.platform.errors import DomainError

CONFLICT_DAYS = 14
MAX_CONFLICT_DAYS = 62

KINDS = ("overlap", "blackout", "outside_hours")

DayNotes = Mapping[tuple[uuid.UUID | None, date], str]


class InvalidScheduleRange(DomainError):
    status = 422
    type = "invalid-schedule-range"
    title = "The date range cannot be answered"
    description = (
        f"`from` and `to` are local dates with `from` not after `to`, spanning at most "
        f"{MAX_CONFLICT_DAYS} days; `field` names the parameter at fault."
    )


@dataclass(frozen=True)
class Closure:
    """A blackout: one resource's (or, without one, every resource's) time off."""

    id: uuid.UUID
    resource_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class ScheduleConflict:
    kind: str  # overlap | blackout | outside_hours
    resource_id: uuid.UUID
    resource_name: str
    reservation_ids: tuple[uuid.UUID, ...]
    booking_ids: tuple[uuid.UUID, ...]
    start: datetime  # UTC
    end: datetime
    local_start: datetime
    local_end: datetime
    detail: str
    blackout_id: uuid.UUID | None = None


# --- pure helpers -------------------------------------------------------------------


def job_span(b: Booked, rules: Rules) -> tuple[datetime, datetime]:
    """The work itself: the reservation without the org's buffers (the whole
    reservation when the buffers would leave nothing)."""
    start, end = b.starts_at + rules.buffer_before, b.ends_at - rules.buffer_after
    return (start, end) if start < end else (b.starts_at, b.ends_at)


def _span_text(start: datetime, end: datetime, tz: tzinfo) -> str:
    """``09:00-12:30``, with the date of each end when the span leaves one local day."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date() or b == datetime.combine(a.date() + timedelta(days=1), time(0), tz):
        return f"{a:%H:%M}-{b:%H:%M}"
    return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant of a wall-clock time as the slot finder reads an opening's bounds: a
    time the clock skips is read with the offset after the change."""
    wall = local_instant(day, at, tz) or datetime.combine(day, at).replace(tzinfo=tz, fold=1)
    return wall.astimezone(UTC)


def _ids(*booked: Booked) -> tuple[tuple[uuid.UUID, ...], tuple[uuid.UUID, ...]]:
    return (
        tuple(b.id for b in booked),
        tuple(b.ref_id for b in booked if b.ref_id is not None),
    )


def _what(b: Booked) -> str:
    return "hold" if b.kind == "hold" else "booking"


def _conflict(
    kind: str,
    cal: Calendar,
    span: tuple[datetime, datetime],
    detail: str,
    *involved: Booked,
    blackout_id: uuid.UUID | None = None,
) -> ScheduleConflict:
    reservation_ids, booking_ids = _ids(*involved)
    start, end = span[0].astimezone(UTC), span[1].astimezone(UTC)
    return ScheduleConflict(
        kind,
        cal.resource_id,
        cal.name,
        reservation_ids,
        booking_ids,
        start,
        end,
        start.astimezone(cal.tz),
        end.astimezone(cal.tz),
        detail,
        blackout_id,
    )


# --- detection ------------------------------------------------------------------------


def _overlaps(cal: Calendar, own: Sequence[Booked]) -> Iterator[ScheduleConflict]:
    """Each pair of ``own`` (sorted by start) that shares time."""
    tz = cal.tz
    for i, a in enumerate(own):
        for b in own[i + 1 :]:
            if b.starts_at >= a.ends_at:
                break
            shared = overlap((a.starts_at, a.ends_at), (b.starts_at, b.ends_at))
            assert shared is not None
            detail = (
                f"{cal.name} is taken twice from {_span_text(*shared, tz)}: "
                f"{_what(a)} {_span_text(a.starts_at, a.ends_at, tz)} and "
                f"{_what(b)} {_span_text(b.starts_at, b.ends_at, tz)} (buffers included)."
            )
            yield _conflict("overlap", cal, shared, detail, a, b)


def _blackouts_met(
    cal: Calendar, b: Booked, blackouts: Sequence[Closure]
) -> Iterator[ScheduleConflict]:
    """Each blackout of the resource (or of every one) that ``b``'s time meets."""
    tz = cal.tz
    taken = (b.starts_at, b.ends_at)
    for c in blackouts:
        if c.resource_id not in (None, cal.resource_id):
            continue
        shared = overlap(taken, (c.starts_at, c.ends_at))
        if shared is None:
            continue
        scope = "every resource" if c.resource_id is None else cal.name
        detail = (
            f"The {_what(b)} on {cal.name} {_span_text(*taken, tz)} (buffers included) "
            f"meets the blackout for {scope} {_span_text(c.starts_at, c.ends_at, tz)}"
            + (f" ({c.reason})." if c.reason else ".")
        )
        yield _conflict("blackout", cal, shared, detail, b, blackout_id=c.id)


def _hours_problem(
    cal: Calendar, b: Booked, rules: Rules, notes: DayNotes
) -> ScheduleConflict | None:
    """``b``'s job on a closed day, on a day off, or outside the day's openings."""
    tz = cal.tz
    job = job_span(b, rules)
    day = local_day(job[0], tz)
    note = notes.get((cal.resource_id, day), notes.get((None, day), ""))
    windows = windows_on(cal, day)
    hours = _span_text(*job, tz)
    if not windows and day in cal.exceptions:
        detail = f"{cal.name} is closed on {day_text(day)}" + (
            f" ({note}); the {_what(b)} {hours} falls on it."
            if note
            else f"; the {_what(b)} {hours} falls on it."
        )
        return _conflict("blackout", cal, job, detail, b)
    if not windows:
        detail = (
            f"{cal.name} does not work on {WEEKDAYS[day.weekday()]}s; "
            f"the {_what(b)} {hours} is on {day.isoformat()}."
        )
        return _conflict("outside_hours", cal, job, detail, b)
    if any(_at(day, w.opens, tz) <= job[0] and job[1] <= _at(day, w.closes, tz) for w in windows):
        return None
    opening = ", ".join(f"{w.opens:%H:%M}-{w.closes:%H:%M}" for w in windows)
    special = ""
    if day in cal.exceptions:
        special = f" (special hours: {note})" if note else " (special hours)"
    detail = (
        f"The {_what(b)} {hours} on {day_text(day)} is outside "
        f"{cal.name}'s hours {opening}{special}."
    )
    return _conflict("outside_hours", cal, job, detail, b)


def detect_conflicts(
    calendars: Sequence[Calendar],
    booked: Sequence[Booked],
    blackouts: Sequence[Closure],
    rules: Rules,
    *,
    first_day: date,
    last_day: date,
    day_notes: DayNotes | None = None,
) -> list[ScheduleConflict]:
    """Every problem whose start falls on a local day from ``first_day`` to ``last_day``:

    - ``overlap``: two active reservations of one resource share time;
    - ``blackout``: a reservation (buffers included, as the finder counts it) meets a
      blackout, or its job falls on a day the resource is closed (holiday, exception);
    - ``outside_hours``: its job (buffers excluded, as the finder counts it) does not
      fit in one of the day's openings, or the resource does not work that weekday.

    ``day_notes`` gives the reason of a date exception, per resource (None = every one).
    """
    notes = day_notes or {}
    by_resource: dict[uuid.UUID, list[Booked]] = defaultdict(list)
    for b in booked:
        by_resource[b.resource_id].append(b)
    found: list[ScheduleConflict] = []
    for cal in calendars:
        own = sorted(by_resource.get(cal.resource_id, []), key=lambda b: (b.starts_at, b.id))
        found.extend(_overlaps(cal, own))
        for b in own:
            found.extend(_blackouts_met(cal, b, blackouts))
            if (problem := _hours_problem(cal, b, rules, notes)) is not None:
                found.append(problem)
    return sorted(
        (c for c in found if first_day <= c.local_start.date() <= last_day),
        key=lambda c: (c.start, KINDS.index(c.kind), c.resource_name, c.end, c.reservation_ids),
    )


# --- loader ---------------------------------------------------------------------------


async def find_conflicts(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    resource_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[date, date, list[ScheduleConflict]]:
    """The schedule's problems on the local days ``first_day`` (default today) to
    ``last_day`` (default 14 days later), both included."""
    now = now or utcnow()
    org = await identity.get_org(s, org_id)
    first = first_day or now.astimezone(ZoneInfo(org.timezone)).date()
    last = last_day or first + timedelta(days=CONFLICT_DAYS)
    if last < first:
        raise InvalidScheduleRange(
            f"to ({last.isoformat()}) is before from ({first.isoformat()}).",
            extra={"field": "to"},
        )
    span = (last - first).days + 1
    if span > MAX_CONFLICT_DAYS:
        raise InvalidScheduleRange(
            f"The range spans {span} days; at most {MAX_CONFLICT_DAYS} are allowed.",
            extra={"field": "to", "max_days": MAX_CONFLICT_DAYS},
        )
    days = [first + timedelta(days=i) for i in range(span)]
    cals = await service.calendars(s, org_id, days, resource_id, now)
    ids = [c.resource_id for c in cals]
    if not ids:
        return first, last, []
    start, end = utc_span(first, last)
    booked = await load_booked(s, org_id, ids, start, end, now)
    blackouts = [
        Closure(b.id, b.resource_id, b.starts_at, b.ends_at, b.reason)
        for b in await s.scalars(
            owned(Blackout, org_id).where(
                or_(Blackout.resource_id.is_(None), Blackout.resource_id.in_(ids)),
                Blackout.starts_at < end,
                Blackout.ends_at > start,
            )
        )
    ]
    notes = {
        (e.resource_id, e.day): e.reason
        for e in await s.scalars(owned(DateException, org_id).where(DateException.day.in_(days)))
    }
    rules = service.rules_from(await identity.settings_of(s, org_id))
    found = detect_conflicts(
        cals, booked, blackouts, rules, first_day=first, last_day=last, day_notes=notes
    )
    return first, last, found


__all__ = [
    "Closure",
    "InvalidScheduleRange",
    "ScheduleConflict",
    "detect_conflicts",
    "find_conflicts",
]
