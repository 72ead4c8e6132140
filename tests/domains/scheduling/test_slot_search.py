"""The slot search against the plain definition it must agree with: every step of every
window, kept when the job ends by the close, respects notice and horizon, and its
buffered span touches no busy interval (any zone, both DST changes, overlapping busy
time, several windows a day). The close is a wall-clock time; buffers are real time; a
time repeated by a fall-back change is offered for each instant it names."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servio.domains.scheduling.slots import Calendar, Rules, Slot, Window, free_slots, local_instant

ZONES = [ZoneInfo(z) for z in ("America/Edmonton", "Europe/London", "Australia/Lord_Howe", "UTC")]
# Around both of Edmonton's 2027 changes (March 14, November 7).
DAYS = [date(2027, 3, 13) + timedelta(days=i) for i in range(3)] + [
    date(2027, 11, 6) + timedelta(days=i) for i in range(3)
]
NOW = datetime(2027, 3, 12, 15, 0, tzinfo=UTC)
# Busy times are instants, as read from the database (in any zone but the calendar's).
ELSEWHERE = timezone(timedelta(hours=5, minutes=30))


def reference(
    cal: Calendar, days: list[date], duration: timedelta, rules: Rules, now: datetime
) -> list[Slot]:
    earliest, latest = now + rules.min_notice, now + rules.horizon
    found = []
    for day in days:
        for window in cal.exceptions.get(day, cal.weekly.get(day.weekday(), [])):
            closes = local_instant(day, window.closes, cal.tz) or datetime.combine(
                day, window.closes
            ).replace(tzinfo=cal.tz, fold=1)
            at, last = datetime.combine(day, window.opens), datetime.combine(day, window.closes)
            candidates = []
            while at < last:
                wall = local_instant(day, at.time(), cal.tz)
                at += rules.step
                if wall is None:
                    continue
                candidates.append(wall)
                if wall.replace(fold=1).utcoffset() != wall.utcoffset():
                    candidates.append(wall.replace(fold=1))
            candidates.sort(key=lambda x: x.astimezone(UTC))
            found.extend(_kept(cal, candidates, closes, duration, rules, earliest, latest))
    return found


def _kept(
    cal: Calendar,
    starts: list[datetime],
    closes: datetime,
    duration: timedelta,
    rules: Rules,
    earliest: datetime,
    latest: datetime,
) -> list[Slot]:
    kept = []
    for start in starts:
        end = (start.astimezone(UTC) + duration).astimezone(cal.tz)
        if end > closes or start < earliest or start > latest:
            continue
        lo = start.astimezone(UTC) - rules.buffer_before
        hi = end.astimezone(UTC) + rules.buffer_after
        if all(hi <= b or lo >= e for b, e in cal.busy):
            kept.append(
                Slot(
                    cal.resource_id,
                    cal.name,
                    start.astimezone(UTC),
                    end.astimezone(UTC),
                    start,
                    end,
                )
            )
    return kept


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def windows(draw: st.DrawFn) -> list[Window]:
    spans = draw(st.lists(st.tuples(minutes, minutes), min_size=0, max_size=3))
    return [
        Window(time(min(a, b) // 60, min(a, b) % 60), time(max(a, b) // 60, max(a, b) % 60))
        for a, b in spans
        if a != b
    ]


@st.composite
def busy(draw: st.DrawFn) -> list[tuple[datetime, datetime]]:
    spans = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        day = draw(st.sampled_from(DAYS))
        start = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(
            minutes=draw(st.integers(min_value=-600, max_value=34 * 60)),
            microseconds=draw(st.sampled_from([0, 0, 0, 1, 999_999])),
        )
        length = timedelta(minutes=draw(st.integers(min_value=1, max_value=600)))
        shown = draw(st.sampled_from([UTC, ELSEWHERE]))
        spans.append((start.astimezone(shown), (start + length).astimezone(shown)))
    return spans


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_search_agrees_with_the_plain_definition(data: st.DataObject) -> None:
    tz = data.draw(st.sampled_from(ZONES))
    cal = Calendar(
        uuid.uuid4(),
        "Team A",
        tz,
        {d: data.draw(windows()) for d in range(7)},
        exceptions={data.draw(st.sampled_from(DAYS)): data.draw(windows())},
        busy=data.draw(busy()),
    )
    rules = Rules(
        step=timedelta(minutes=data.draw(st.sampled_from([15, 30, 45, 60]))),
        buffer_before=timedelta(minutes=data.draw(st.sampled_from([0, 15, 30]))),
        buffer_after=timedelta(minutes=data.draw(st.sampled_from([0, 30, 45]))),
        min_notice=timedelta(hours=data.draw(st.sampled_from([0, 12, 30]))),
        horizon=timedelta(days=data.draw(st.sampled_from([1, 60, 400]))),
    )
    duration = timedelta(minutes=data.draw(st.sampled_from([15, 60, 120, 150, 480])))
    days = data.draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
    days.sort()
    got = free_slots(cal, days, duration, rules, NOW)
    want = reference(cal, days, duration, rules, NOW)
    assert got == want

    def shown(slots: list[Slot]) -> list[tuple[str, ...]]:
        return [
            tuple(t.isoformat() for t in (x.start, x.end, x.local_start, x.local_end))
            for x in slots
        ]

    assert shown(got) == shown(want)
