"""The best starts for a job, each with its reasons, on top of the slot finder.

``rank`` is a pure function of plain data; ``suggest`` loads the org's rows and calls the
scheduling service's own finder, so every suggestion is a start ``GET /v1/slots`` offers.

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

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.scheduling import service
from servio.domains.scheduling.planning import (
    Booked,
    day_text,
    load_booked,
    local_day,
    overlap,
    utc_span,
)
from servio.domains.scheduling.slots import Rules, Slot
from servio.platform.db import utcnow

SUGGESTIONS = 3
SUGGESTION_DAYS = 7
MAX_SUGGESTION_DAYS = service.MAX_DAYS

BASE = 100
PER_DAY_LATER = 3
PREFERRED = 20
PREFERRED_STEP_MINUTES = 15
PREFERRED_REASON_MINUTES = 60
FOLLOWS_JOB = 25
LEADS_INTO_JOB = 15
LIGHTEST_DAY = 15
EARLIEST = 10


@dataclass(frozen=True)
class Suggestion:
    slot: Slot
    score: int
    reasons: tuple[str, ...]


# --- pure helpers -------------------------------------------------------------------


def _day_span(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


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
        part = overlap((b.starts_at, b.ends_at), bounds)
        if part is not None:
            total += part[1] - part[0]
    return int(total.total_seconds() // 60)


# --- ranking --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Surroundings:
    """What a free start is weighed against: each resource's jobs, and how much of each
    day every resource working it has booked already."""

    tolerance: timedelta  # a gap shorter than one slot step counts as none
    starts: Mapping[uuid.UUID, list[datetime]]  # sorted, per resource
    ends: Mapping[uuid.UUID, list[datetime]]
    load: Mapping[tuple[uuid.UUID, date], int]  # booked minutes
    spread: Mapping[date, tuple[int, int]]  # least and most load, where several work

    def follows(self, rid: uuid.UUID, at: datetime) -> bool:
        """A job of ``rid`` ends at ``at`` or less than one step before it."""
        done = self.ends.get(rid, [])
        i = bisect_right(done, at)
        return i > 0 and at - done[i - 1] < self.tolerance

    def leads(self, rid: uuid.UUID, at: datetime) -> bool:
        """A job of ``rid`` starts at ``at`` or less than one step after it."""
        next_ = self.starts.get(rid, [])
        i = bisect_left(next_, at)
        return i < len(next_) and next_[i] - at < self.tolerance

    def lightest(self, rid: uuid.UUID, day: date) -> bool:
        low, high = self.spread.get(day, (0, 0))
        return self.load[(rid, day)] == low < high


def _resource_zones(
    slots: Sequence[Slot], zones: Mapping[uuid.UUID, tzinfo] | None
) -> dict[uuid.UUID, tzinfo]:
    """Every resource searched with its time zone, those with a free start included."""
    found = dict(zones or {})
    for slot in slots:
        assert slot.local_start.tzinfo is not None
        found.setdefault(slot.resource_id, slot.local_start.tzinfo)
    return found


def _working(
    slots: Sequence[Slot],
    jobs: Mapping[uuid.UUID, Sequence[Booked]],
    zones: Mapping[uuid.UUID, tzinfo],
) -> dict[date, set[uuid.UUID]]:
    """Who works each local day: a free start or a job on it."""
    working: dict[date, set[uuid.UUID]] = defaultdict(set)
    for slot in slots:
        working[slot.local_start.date()].add(slot.resource_id)
    for rid, own in jobs.items():
        for b in own:
            working[local_day(b.starts_at, zones[rid])].add(rid)
    return working


def _surroundings(
    slots: Sequence[Slot],
    booked: Sequence[Booked],
    rules: Rules,
    zones: Mapping[uuid.UUID, tzinfo] | None,
) -> _Surroundings:
    known = _resource_zones(slots, zones)
    jobs: dict[uuid.UUID, list[Booked]] = defaultdict(list)
    for b in booked:
        if b.resource_id in known:
            jobs[b.resource_id].append(b)
    working = _working(slots, jobs, known)
    load = {
        (rid, day): booked_minutes(jobs.get(rid, []), day, known[rid])
        for day, rids in working.items()
        for rid in rids
    }
    spread = {
        day: (min(loads), max(loads))
        for day, rids in working.items()
        if len(loads := [load[(rid, day)] for rid in rids]) > 1
    }
    return _Surroundings(
        tolerance=max(rules.step, timedelta(minutes=1)),
        starts={rid: sorted(b.starts_at for b in own) for rid, own in jobs.items()},
        ends={rid: sorted(b.ends_at for b in own) for rid, own in jobs.items()},
        load=load,
        spread=spread,
    )


def _closeness(slot: Slot, preferred: time) -> tuple[int, str]:
    """Points for starting near the preferred local time, with the reason within an hour."""
    wall = slot.local_start.hour * 60 + slot.local_start.minute
    away = wall - (preferred.hour * 60 + preferred.minute)
    points = max(0, PREFERRED - abs(away) // PREFERRED_STEP_MINUTES)
    if away == 0:
        return points, "at the preferred time"
    if abs(away) <= PREFERRED_REASON_MINUTES:
        side = "after" if away > 0 else "before"
        return points, f"{_minutes_text(abs(away))} {side} the preferred time"
    return points, ""


def _score(
    slot: Slot,
    around: _Surroundings,
    rules: Rules,
    *,
    first_day: date,
    preferred: time | None,
    earliest: datetime,
) -> Suggestion:
    day = slot.local_start.date()
    taken = (slot.start - rules.buffer_before, slot.end + rules.buffer_after)
    points: list[tuple[int, str]] = []
    if preferred is not None:
        points.append(_closeness(slot, preferred))
    if around.follows(slot.resource_id, taken[0]):
        points.append((FOLLOWS_JOB, "follows an existing job"))
    if around.leads(slot.resource_id, taken[1]):
        points.append((LEADS_INTO_JOB, "leads straight into the next job"))
    if around.lightest(slot.resource_id, day):
        points.append((LIGHTEST_DAY, f"{slot.resource_name} has the lightest day"))
    if slot.start == earliest:
        points.append((EARLIEST, "earliest free start"))
    score = BASE - PER_DAY_LATER * (day - first_day).days + sum(p for p, _ in points)
    reasons = tuple(text for _, text in sorted(points, key=lambda p: -p[0]) if text)
    return Suggestion(slot, score, reasons or (f"free on {day_text(day)}",))


def _pick(scored: Sequence[Suggestion], limit: int) -> list[Suggestion]:
    """The best ``limit``, the best start of each resource and day first."""
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
    around = _surroundings(slots, booked, rules, zones)
    earliest = min(slot.start for slot in slots)
    scored = [
        _score(slot, around, rules, first_day=first_day, preferred=preferred, earliest=earliest)
        for slot in slots
    ]
    return _pick(scored, limit)


# --- loader ---------------------------------------------------------------------------


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
    rules = service.rules_from(await identity.settings_of(s, org_id))
    service.check_first_day(first_day, now, org.timezone, rules)
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
    booked = await load_booked(
        s,
        org_id,
        [r.id for r in resources],
        *utc_span(first_day, first_day + timedelta(days=days - 1)),
        now,
    )
    zones = {r.id: ZoneInfo(r.timezone or org.timezone) for r in resources}
    ranked = rank(
        free, booked, rules, first_day=first_day, preferred=preferred, zones=zones, limit=limit
    )
    return ranked, len(free)


__all__ = ["Suggestion", "rank", "suggest"]
