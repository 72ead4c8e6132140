"""Free starts, as a pure function of hours, exceptions, busy times and rules.

Working hours are local to the resource's time zone; every candidate is a real instant
(a local time skipped by a spring-forward change is not offered, and on a fall-back day
the first of the repeated times is used). A job occupies [start - before, end + after)
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
from itertools import accumulate
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
    """One resource's week, its date exceptions (None = closed) and busy intervals."""

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


def windows_on(cal: Calendar, day: date) -> list[Window]:
    if day in cal.exceptions:
        return cal.exceptions[day]
    return cal.weekly.get(day.weekday(), [])


@lru_cache(maxsize=4096)
def _window_jobs(
    day: date, window: Window, step: timedelta, duration: timedelta, tz: ZoneInfo
) -> tuple[tuple[datetime, datetime, datetime, datetime], ...]:
    """Jobs of ``duration`` starting on the window's steps and ending by its close, each
    as (start, end) in UTC and then in local time. Every resource of a zone with the
    same hours shares them, so a search computes them once per day, not per resource."""
    closes = local_instant(day, window.closes, tz) or datetime.combine(day, window.closes).replace(
        tzinfo=tz, fold=1
    )
    jobs = []
    at = datetime.combine(day, window.opens)
    last = datetime.combine(day, window.closes)
    while at < last:
        local = local_instant(day, at.time(), tz)
        if local is not None:
            start = local.astimezone(UTC)
            end = start + duration
            if end <= closes:
                jobs.append((start, end, local, end.astimezone(tz)))
        at += step
    return tuple(jobs)


class _Busy:
    """Busy intervals sorted by start, with the latest end so far: whether [start, end)
    touches any of them is one binary search."""

    def __init__(self, busy: Iterable[tuple[datetime, datetime]]) -> None:
        spans = sorted((b.astimezone(UTC), e.astimezone(UTC)) for b, e in busy)
        self.starts = [b for b, _ in spans]
        self.latest_end = list(accumulate((e for _, e in spans), max))

    def free(self, start: datetime, end: datetime) -> bool:
        before = bisect_left(self.starts, end)  # the intervals that start before ``end``
        return before == 0 or self.latest_end[before - 1] <= start


def free_slots(
    cal: Calendar, days: Iterable[date], duration: timedelta, rules: Rules, now: datetime
) -> list[Slot]:
    earliest, latest = now + rules.min_notice, now + rules.horizon
    before, after = rules.buffer_before, rules.buffer_after
    free = _Busy(cal.busy).free
    found: list[Slot] = []
    for day in days:
        for window in windows_on(cal, day):
            for start, end, local_start, local_end in _window_jobs(
                day, window, rules.step, duration, cal.tz
            ):
                if earliest <= start <= latest and free(start - before, end + after):
                    found.append(
                        Slot(cal.resource_id, cal.name, start, end, local_start, local_end)
                    )
    return found
