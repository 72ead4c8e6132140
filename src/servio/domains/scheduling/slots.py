"""Free starts, as a pure function of hours, exceptions, busy times and rules.

Working hours are local to the resource's time zone; every candidate is a real instant
(a local time skipped by a spring-forward change is not offered, and on a fall-back day
the first of the repeated times is used). A job occupies [start - before, end + after)
with its buffers; it must start and end within the day's hours, leave the minimum
notice, stay within the horizon and touch no busy interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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


def _free(busy: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return all(end <= b_start or start >= b_end for b_start, b_end in busy)


def _starts(cal: Calendar, day: date, window: Window, step: timedelta) -> Iterable[datetime]:
    at = datetime.combine(day, window.opens)
    last = datetime.combine(day, window.closes)
    while at < last:
        instant = local_instant(day, at.time(), cal.tz)
        if instant is not None:
            yield instant
        at += step


def free_slots(
    cal: Calendar, days: Iterable[date], duration: timedelta, rules: Rules, now: datetime
) -> list[Slot]:
    earliest, latest = now + rules.min_notice, now + rules.horizon
    found: list[Slot] = []
    for day in days:
        for window in windows_on(cal, day):
            closes = local_instant(day, window.closes, cal.tz) or datetime.combine(
                day, window.closes
            ).replace(tzinfo=cal.tz, fold=1)
            for start in _starts(cal, day, window, rules.step):
                end = (start.astimezone(UTC) + duration).astimezone(cal.tz)
                if end > closes or start < earliest or start > latest:
                    continue
                taken = (start - rules.buffer_before, end + rules.buffer_after)
                if _free(cal.busy, *taken):
                    found.append(
                        Slot(
                            cal.resource_id,
                            cal.name,
                            start.astimezone(UTC),
                            end.astimezone(UTC),
                            start,
                            end,
                        )
                    )
    return found
