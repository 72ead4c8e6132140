"""Staff planning on top of the slot finder: the best starts for a job, each with its
reasons, and the problems in a schedule (overlaps, blackouts, work outside hours).

``rank`` and ``detect_conflicts`` are pure functions of plain data; ``suggest`` and
``find_conflicts`` load the org's rows and call the scheduling service's own finder, so
every suggestion is a start ``GET /v1/slots`` offers, and a reservation the finder could
have offered is never reported as a conflict.

Ranking, in points (higher is better; ties go to the earlier start, then the resource
name): 100, minus 3 for each day after the requested date, plus

- up to 20 for closeness to the preferred local time (one point less per 15 minutes
  away; reason given within an hour),
- 25 when the job starts right after one of the resource's jobs ("follows an existing
  job": the idle gap is shorter than one slot step, so the team drives on instead of
  waiting),
- 15 when it ends right before one ("leads straight into the next job"),
- 15 when its resource has the least booked time that day among the resources working
  it ("Team B has the lightest day"; only when another resource has more),
- 10 for the earliest free start of the whole search ("earliest free start").

The best start of each resource and day is taken first, so three suggestions are three
real choices rather than one team's 09:00, 09:30 and 10:00; when there are fewer such
pairs, the next best starts fill in.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.scheduling import service
from servio.domains.scheduling.models import Blackout, DateException, Reservation
from servio.domains.scheduling.slots import Calendar, Rules, Slot, local_instant, windows_on
from servio.platform.db import utcnow
from servio.platform.errors import DomainError

SUGGESTIONS = 3
SUGGESTION_DAYS = 7
MAX_SUGGESTION_DAYS = service.MAX_DAYS
CONFLICT_DAYS = 14
MAX_CONFLICT_DAYS = 62

BASE = 100
PER_DAY_LATER = 3
PREFERRED = 20
PREFERRED_STEP_MINUTES = 15
PREFERRED_REASON_MINUTES = 60
FOLLOWS_JOB = 25
LEADS_INTO_JOB = 15
LIGHTEST_DAY = 15
EARLIEST = 10

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KINDS = ("overlap", "blackout", "outside_hours")


class InvalidScheduleRange(DomainError):
    status = 422
    type = "invalid-schedule-range"
    title = "The date range cannot be answered"
    description = (
        f"`from` and `to` are local dates with `from` not after `to`, spanning at most "
        f"{MAX_CONFLICT_DAYS} days; `field` names the parameter at fault."
    )


@dataclass(frozen=True)
class Booked:
    """An active reservation as planning sees it: the time taken, buffers included."""

    id: uuid.UUID
    resource_id: uuid.UUID
    starts_at: datetime  # aware
    ends_at: datetime
    kind: str  # hold | booking
    ref_id: uuid.UUID | None = None  # the booking, once one owns the reservation


@dataclass(frozen=True)
class Closure:
    """A blackout: one resource's (or, without one, every resource's) time off."""

    id: uuid.UUID
    resource_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Suggestion:
    slot: Slot
    score: int
    reasons: tuple[str, ...]


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


def _local_day(at: datetime, tz: tzinfo) -> date:
    return at.astimezone(tz).date()


def _day_span(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def _overlap(
    a: tuple[datetime, datetime], b: tuple[datetime, datetime]
) -> tuple[datetime, datetime] | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def _hm(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def _span_text(start: datetime, end: datetime, tz: tzinfo) -> str:
    """``09:00-12:30``, with the date of each end when the span leaves one local day."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date() or b == datetime.combine(a.date() + timedelta(days=1), time(0), tz):
        return f"{a:%H:%M}-{b:%H:%M}"
    return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"


def _day_text(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()][:3]} {day.isoformat()}"


def _minutes_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def booked_minutes(booked: Sequence[Booked], day: date, tz: tzinfo) -> int:
    """Minutes of ``booked`` (buffers included) that fall on the local ``day``."""
    bounds = _day_span(day, tz)
    total = timedelta(0)
    for b in booked:
        part = _overlap((b.starts_at, b.ends_at), bounds)
        if part is not None:
            total += part[1] - part[0]
    return int(total.total_seconds() // 60)


# --- suggestions ----------------------------------------------------------------------


def rank(
    slots: Sequence[Slot],
    booked: Sequence[Booked],
    rules: Rules,
    *,
    first_day: date,
    preferred: time | None = None,
    zones: Mapping[uuid.UUID, tzinfo] | None = None,
    limit: int = SUGGESTIONS,
) -> list[Suggestion]:
    """The best ``limit`` of the free ``slots``, scored as the module describes.
    ``zones`` names every resource searched with its time zone, so a resource with no
    free start still counts when comparing how full each one's day is."""
    if not slots or limit < 1:
        return []
    zones = dict(zones or {})
    for slot in slots:
        assert slot.local_start.tzinfo is not None
        zones.setdefault(slot.resource_id, slot.local_start.tzinfo)
    jobs: dict[uuid.UUID, list[Booked]] = defaultdict(list)
    for b in booked:
        if b.resource_id in zones:
            jobs[b.resource_id].append(b)

    # Who works each day, and how much of it is booked already.
    working: dict[date, set[uuid.UUID]] = defaultdict(set)
    for slot in slots:
        working[slot.local_start.date()].add(slot.resource_id)
    for rid, own in jobs.items():
        for b in own:
            working[_local_day(b.starts_at, zones[rid])].add(rid)
    load: dict[tuple[uuid.UUID, date], int] = {
        (rid, day): booked_minutes(jobs[rid], day, zones[rid])
        for day, rids in working.items()
        for rid in rids
    }

    spread = {
        day: (min(loads), max(loads))
        for day, rids in working.items()
        if len(loads := [load[(rid, day)] for rid in rids]) > 1
    }

    def lightest(rid: uuid.UUID, day: date) -> bool:
        low, high = spread.get(day, (0, 0))
        return load[(rid, day)] == low < high

    tolerance = max(rules.step, timedelta(minutes=1))
    ends = {rid: sorted(b.ends_at for b in own) for rid, own in jobs.items()}
    starts = {rid: sorted(b.starts_at for b in own) for rid, own in jobs.items()}

    def follows(rid: uuid.UUID, at: datetime) -> bool:
        """A job of ``rid`` ends at ``at`` or less than one step before it."""
        done = ends.get(rid, [])
        i = bisect_right(done, at)
        return i > 0 and at - done[i - 1] < tolerance

    def leads(rid: uuid.UUID, at: datetime) -> bool:
        """A job of ``rid`` starts at ``at`` or less than one step after it."""
        next_ = starts.get(rid, [])
        i = bisect_left(next_, at)
        return i < len(next_) and next_[i] - at < tolerance

    earliest = min(slot.start for slot in slots)
    scored: list[Suggestion] = []
    for slot in slots:
        day = slot.local_start.date()
        taken = (slot.start - rules.buffer_before, slot.end + rules.buffer_after)
        points: list[tuple[int, str]] = []
        if preferred is not None:
            wall = slot.local_start.hour * 60 + slot.local_start.minute
            away = wall - (preferred.hour * 60 + preferred.minute)
            closeness = max(0, PREFERRED - abs(away) // PREFERRED_STEP_MINUTES)
            if away == 0:
                points.append((closeness, "at the preferred time"))
            elif abs(away) <= PREFERRED_REASON_MINUTES:
                side = "after" if away > 0 else "before"
                points.append((closeness, f"{_minutes_text(abs(away))} {side} the preferred time"))
            else:
                points.append((closeness, ""))
        if follows(slot.resource_id, taken[0]):
            points.append((FOLLOWS_JOB, "follows an existing job"))
        if leads(slot.resource_id, taken[1]):
            points.append((LEADS_INTO_JOB, "leads straight into the next job"))
        if lightest(slot.resource_id, day):
            points.append((LIGHTEST_DAY, f"{slot.resource_name} has the lightest day"))
        if slot.start == earliest:
            points.append((EARLIEST, "earliest free start"))
        score = BASE - PER_DAY_LATER * (day - first_day).days + sum(p for p, _ in points)
        reasons = tuple(text for _, text in sorted(points, key=lambda p: -p[0]) if text)
        scored.append(Suggestion(slot, score, reasons or (f"free on {_day_text(day)}",)))

    order = sorted(
        scored, key=lambda x: (-x.score, x.slot.start, x.slot.resource_name, x.slot.resource_id)
    )
    chosen: list[Suggestion] = []
    seen: set[tuple[uuid.UUID, date]] = set()
    for x in order:  # the best start of each resource and day first
        key = (x.slot.resource_id, x.slot.local_start.date())
        if key not in seen and len(chosen) < limit:
            seen.add(key)
            chosen.append(x)
    for x in order:  # then the next best, when there are too few of those
        if len(chosen) >= limit:
            break
        if x not in chosen:
            chosen.append(x)
    return sorted(chosen, key=order.index)


# --- conflicts ------------------------------------------------------------------------


def job_span(b: Booked, rules: Rules) -> tuple[datetime, datetime]:
    """The work itself: the reservation without the org's buffers (the whole
    reservation when the buffers would leave nothing)."""
    start, end = b.starts_at + rules.buffer_before, b.ends_at - rules.buffer_after
    return (start, end) if start < end else (b.starts_at, b.ends_at)


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


def detect_conflicts(
    calendars: Sequence[Calendar],
    booked: Sequence[Booked],
    blackouts: Sequence[Closure],
    rules: Rules,
    *,
    first_day: date,
    last_day: date,
    day_notes: Mapping[tuple[uuid.UUID | None, date], str] | None = None,
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
    found: list[ScheduleConflict] = []

    def add(
        kind: str,
        cal: Calendar,
        span: tuple[datetime, datetime],
        detail: str,
        *involved: Booked,
        blackout_id: uuid.UUID | None = None,
    ) -> None:
        if not first_day <= _local_day(span[0], cal.tz) <= last_day:
            return
        reservation_ids, booking_ids = _ids(*involved)
        start, end = span[0].astimezone(UTC), span[1].astimezone(UTC)
        found.append(
            ScheduleConflict(
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
        )

    by_resource: dict[uuid.UUID, list[Booked]] = defaultdict(list)
    for b in booked:
        by_resource[b.resource_id].append(b)

    for cal in calendars:
        tz = cal.tz
        own = sorted(by_resource.get(cal.resource_id, []), key=lambda b: (b.starts_at, b.id))
        for i, a in enumerate(own):
            for b in own[i + 1 :]:
                if b.starts_at >= a.ends_at:
                    break
                shared = _overlap((a.starts_at, a.ends_at), (b.starts_at, b.ends_at))
                assert shared is not None
                detail = (
                    f"{cal.name} is taken twice from {_span_text(*shared, tz)}: "
                    f"{_what(a)} {_span_text(a.starts_at, a.ends_at, tz)} and "
                    f"{_what(b)} {_span_text(b.starts_at, b.ends_at, tz)} (buffers included)."
                )
                add("overlap", cal, shared, detail, a, b)

        for b in own:
            taken = (b.starts_at, b.ends_at)
            for c in blackouts:
                if c.resource_id not in (None, cal.resource_id):
                    continue
                shared = _overlap(taken, (c.starts_at, c.ends_at))
                if shared is None:
                    continue
                scope = "every resource" if c.resource_id is None else cal.name
                detail = (
                    f"The {_what(b)} on {cal.name} {_span_text(*taken, tz)} (buffers included) "
                    f"meets the blackout for {scope} {_span_text(c.starts_at, c.ends_at, tz)}"
                    + (f" ({c.reason})." if c.reason else ".")
                )
                add("blackout", cal, shared, detail, b, blackout_id=c.id)

            job = job_span(b, rules)
            day = _local_day(job[0], tz)
            note = notes.get((cal.resource_id, day), notes.get((None, day), ""))
            windows = windows_on(cal, day)
            hours = _span_text(*job, tz)
            if not windows and day in cal.exceptions:
                detail = f"{cal.name} is closed on {_day_text(day)}" + (
                    f" ({note}); the {_what(b)} {hours} falls on it."
                    if note
                    else f"; the {_what(b)} {hours} falls on it."
                )
                add("blackout", cal, job, detail, b)
            elif not windows:
                detail = (
                    f"{cal.name} does not work on {WEEKDAYS[day.weekday()]}s; "
                    f"the {_what(b)} {hours} is on {day.isoformat()}."
                )
                add("outside_hours", cal, job, detail, b)
            elif not any(
                _at(day, w.opens, tz) <= job[0] and job[1] <= _at(day, w.closes, tz)
                for w in windows
            ):
                opening = ", ".join(f"{w.opens:%H:%M}-{w.closes:%H:%M}" for w in windows)
                special = ""
                if day in cal.exceptions:
                    special = f" (special hours: {note})" if note else " (special hours)"
                detail = (
                    f"The {_what(b)} {hours} on {_day_text(day)} is outside "
                    f"{cal.name}'s hours {opening}{special}."
                )
                add("outside_hours", cal, job, detail, b)

    return sorted(
        found,
        key=lambda c: (c.start, KINDS.index(c.kind), c.resource_name, c.end, c.reservation_ids),
    )


# --- loaders --------------------------------------------------------------------------


async def _booked(
    s: AsyncSession,
    org_id: uuid.UUID,
    resource_ids: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Booked]:
    """Active reservations (unexpired holds and bookings) meeting [start, end)."""
    if not resource_ids:
        return []
    rows = await s.scalars(
        select(Reservation).where(
            Reservation.org_id == org_id,
            Reservation.resource_id.in_(resource_ids),
            Reservation.active.is_(True),
            or_(Reservation.expires_at.is_(None), Reservation.expires_at > now),
            Reservation.starts_at < end,
            Reservation.ends_at > start,
        )
    )
    return [Booked(r.id, r.resource_id, r.starts_at, r.ends_at, r.kind, r.ref_id) for r in rows]


def _utc_span(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """UTC bounds wide enough to hold those local days in any time zone."""
    return (
        datetime.combine(first_day, time(0), tzinfo=UTC) - timedelta(days=2),
        datetime.combine(last_day, time(0), tzinfo=UTC) + timedelta(days=3),
    )


async def suggest(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    first_day: date,
    duration: timedelta,
    days: int = SUGGESTION_DAYS,
    resource_id: uuid.UUID | None = None,
    preferred: time | None = None,
    now: datetime | None = None,
    limit: int = SUGGESTIONS,
) -> tuple[list[Suggestion], int]:
    """The best starts from ``first_day`` on, and how many free starts were weighed."""
    now = now or utcnow()
    org = await identity.get_org(s, org_id)
    tz = ZoneInfo(org.timezone)
    rules = service.rules_from(await identity.org_settings(s, org_id))
    today = now.astimezone(tz).date()
    if first_day < today:
        raise service.InvalidSlotRequest(
            f"date {first_day.isoformat()} is in the past; today is {today.isoformat()} "
            f"in {org.timezone}.",
            extra={"field": "date"},
        )
    horizon_day = (now + rules.horizon).astimezone(tz).date()
    if first_day > horizon_day:
        raise service.InvalidSlotRequest(
            f"date {first_day.isoformat()} is beyond the booking horizon; the last bookable "
            f"day is {horizon_day.isoformat()}.",
            extra={"field": "date"},
        )
    if not 1 <= days <= MAX_SUGGESTION_DAYS:
        raise service.InvalidSlotRequest(
            f"days must be between 1 and {MAX_SUGGESTION_DAYS}.", extra={"field": "days"}
        )
    resources = await service.list_resources(s, org_id, resource_id)
    free = await service.find_slots(
        s,
        org_id,
        first_day=first_day,
        days=days,
        duration=duration,
        resource_id=resource_id,
        now=now,
    )
    booked = await _booked(
        s,
        org_id,
        [r.id for r in resources],
        *_utc_span(first_day, first_day + timedelta(days=days - 1)),
        now,
    )
    zones = {r.id: ZoneInfo(r.timezone or org.timezone) for r in resources}
    ranked = rank(
        free, booked, rules, first_day=first_day, preferred=preferred, zones=zones, limit=limit
    )
    return ranked, len(free)


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
    start, end = _utc_span(first, last)
    booked = await _booked(s, org_id, ids, start, end, now)
    blackouts = [
        Closure(b.id, b.resource_id, b.starts_at, b.ends_at, b.reason)
        for b in await s.scalars(
            select(Blackout).where(
                Blackout.org_id == org_id,
                or_(Blackout.resource_id.is_(None), Blackout.resource_id.in_(ids)),
                Blackout.starts_at < end,
                Blackout.ends_at > start,
            )
        )
    ]
    notes = {
        (e.resource_id, e.day): e.reason
        for e in await s.scalars(
            select(DateException).where(DateException.org_id == org_id, DateException.day.in_(days))
        )
    }
    rules = service.rules_from(await identity.org_settings(s, org_id))
    found = detect_conflicts(
        cals, booked, blackouts, rules, first_day=first, last_day=last, day_notes=notes
    )
    return first, last, found


__all__ = [
    "Booked",
    "Closure",
    "InvalidScheduleRange",
    "ScheduleConflict",
    "Suggestion",
    "detect_conflicts",
    "find_conflicts",
    "rank",
    "suggest",
]
