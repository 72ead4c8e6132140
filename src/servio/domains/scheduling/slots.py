"""Free starts, as a pure function of hours, exceptions, busy times and rules.

Working hours are local to the resource's time zone; every candidate is a real instant
(a local time skipped by a spring-forward change is not offered, and on a fall-back day
a repeated time is offered twice, once for each instant it names: a resource open
through the night works the repeated hour too). A job occupies [start - before, end + after)
with its buffers; it must start and end within the day's hours, leave the minimum
notice, stay within the horizon and touch no busy interval.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Rules:
    step: timedelta = timedelta(minutes=30)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(minutes=30)
    min_notice: timedelta = timedelta(hours=12)
    horizon: timedelta = timedelta(days=60)


@dataclass(frozen=True)
class Window:
    opens: time
    closes: time


@dataclass(frozen=True)
class Calendar:
    """One resource's week, its date exceptions (None = closed) and busy intervals
    (instants, as read from the database)."""

    resource_id: uuid.UUID
    name: str
    tz: ZoneInfo
    weekly: dict[int, list[Window]]
    exceptions: dict[date, list[Window]] = field(default_factory=dict)
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class Slot:
    resource_id: uuid.UUID
    resource_name: str
    start: datetime  # aware, UTC
    end: datetime
    local_start: datetime
    local_end: datetime


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The instant a wall-clock time names, or None when the clock skips it."""
    wall = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    back = wall.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None
    return wall


def local_instants(day: date, at: time, tz: ZoneInfo) -> list[datetime]:
    """Every instant a wall-clock time names on ``day``: none in a spring-forward gap,
    two in a fall-back hour (the earlier first), else one."""
    first = local_instant(day, at, tz)
    if first is None:
        return []
    second = first.replace(fold=1)
    return [first] if second.utcoffset() == first.utcoffset() else [first, second]


def windows_on(cal: Calendar, day: date) -> list[Window]:
    if day in cal.exceptions:
        return cal.exceptions[day]
    return cal.weekly.get(day.weekday(), [])


Job = tuple[datetime, datetime, datetime, datetime]  # start, end (UTC); start, end (local)


def _jobs_in_window(
    day: date,
    window: Window,
    step: timedelta,
    duration: timedelta,
    buffers: tuple[timedelta, timedelta],
    tz: ZoneInfo,
) -> tuple[tuple[Job, tuple[datetime, datetime]], ...]:
    """The jobs of ``duration`` starting on the window's steps and ending by its close,
    each with the span it takes, buffers included (UTC). Every resource of a zone with
    the same hours shares these: a search computes them once per day, not per resource."""
    closes = local_instant(day, window.closes, tz) or datetime.combine(day, window.closes).replace(
        tzinfo=tz, fold=1
    )
    before, after = buffers
    jobs = []
    at = datetime.combine(day, window.opens)
    last = datetime.combine(day, window.closes)
    while at < last:
        for local in local_instants(day, at.time(), tz):
            start = local.astimezone(UTC)
            end = start + duration
            local_end = end.astimezone(tz)
            # The close is a wall-clock time, as the day's hours are read (two datetimes
            # in ``tz`` compare as wall-clock times); buffers are real time (travel).
            if local_end <= closes:
                jobs.append(((start, end, local, local_end), (start - before, end + after)))
        at += step
    return tuple(sorted(jobs, key=lambda job: job[0][0]))


# Cached by wrapping rather than decorating, so mutation testing still reaches the body.
_window_jobs = lru_cache(maxsize=1024)(_jobs_in_window)


class _Busy:
    """Busy time merged into disjoint intervals in time order."""

    def __init__(self, busy: Iterable[tuple[datetime, datetime]]) -> None:
        merged: list[list[datetime]] = []
        for b, e in sorted((b.astimezone(UTC), e.astimezone(UTC)) for b, e in busy):
            if merged and b < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([b, e])
        self.starts = [b for b, _ in merged]
        self.ends = [e for _, e in merged]

    def free(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) touches no busy time: of the intervals that start before
        ``end``, the last ends latest."""
        before = bisect_left(self.starts, end)
        return before == 0 or self.ends[before - 1] <= start


def free_slots(
    cal: Calendar, days: Iterable[date], duration: timedelta, rules: Rules, now: datetime
) -> list[Slot]:
    earliest, latest = now + rules.min_notice, now + rules.horizon
    buffers = (rules.buffer_before, rules.buffer_after)
    free = _Busy(cal.busy).free
    return [
        Slot(cal.resource_id, cal.name, *job)
        for day in days
        for window in windows_on(cal, day)
        for job, (lo, hi) in _window_jobs(day, window, rules.step, duration, buffers, cal.tz)
        if earliest <= job[0] <= latest and free(lo, hi)
    ]
