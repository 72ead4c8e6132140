"""Free slots at their edges: the notice and the horizon met exactly, a job ending as busy
time begins (or starting as it ends), overlapping busy time merged, date exceptions and
closed days, both DST changes, and a closing time that falls inside the spring gap."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from servio.domains.scheduling import slots
from servio.domains.scheduling.slots import (
    Calendar,
    Rules,
    Slot,
    Window,
    _Busy,
    free_slots,
    local_instant,
    local_instants,
    windows_on,
)

EDMONTON = ZoneInfo("America/Edmonton")
TEAM = uuid.UUID("00000000-0000-4000-8000-00000000000a")
DAY = date(2027, 6, 2)  # a Wednesday, MDT (UTC-6)
SPRING = date(2027, 3, 14)  # 02:00 MST jumps to 03:00 MDT
FALL = date(2027, 11, 7)  # 02:00 MDT falls back to 01:00 MST
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
OPEN = Rules(min_notice=timedelta(0), buffer_after=timedelta(0), horizon=timedelta(days=9999))


@pytest.fixture(autouse=True)
def _fresh_window_cache() -> Iterator[None]:
    """Each test starts with the window cache empty, so an answer cached by another test
    (or by the mutation run's first pass) never stands in for the code under test."""
    slots._window_jobs.cache_clear()
    yield
    slots._window_jobs.cache_clear()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=EDMONTON)


def cal(
    opens: time = time(9),
    closes: time = time(12),
    busy: list[tuple[datetime, datetime]] | None = None,
    exceptions: dict[date, list[Window]] | None = None,
) -> Calendar:
    return Calendar(
        TEAM,
        "Team A",
        EDMONTON,
        {d: [Window(opens, closes)] for d in range(5)},  # Monday to Friday
        exceptions=exceptions or {},
        busy=busy or [],
    )


def hhmm(slots: list[Slot]) -> list[str]:
    return [s.local_start.strftime("%H:%M") for s in slots]


def test_a_slot_carries_its_resource_and_both_clocks() -> None:
    got = free_slots(cal(), [DAY], timedelta(hours=2), OPEN, LONG_AGO)
    assert got[0] == Slot(
        TEAM,
        "Team A",
        datetime(2027, 6, 2, 15, tzinfo=UTC),
        datetime(2027, 6, 2, 17, tzinfo=UTC),
        at(DAY, 9),
        at(DAY, 11),
    )
    assert got[0].start.tzinfo is UTC
    assert hhmm(got) == ["09:00", "09:30", "10:00"]  # the last ends at 12:00 exactly


def test_the_minimum_notice_is_met_exactly() -> None:
    rules = Rules(min_notice=timedelta(hours=2), buffer_after=timedelta(0))
    now = at(DAY, 8)
    assert hhmm(free_slots(cal(), [DAY], timedelta(hours=1), rules, now)) == [
        "10:00",
        "10:30",
        "11:00",
    ]
    later = now + timedelta(seconds=1)
    assert hhmm(free_slots(cal(), [DAY], timedelta(hours=1), rules, later))[0] == "10:30"


def test_the_horizon_is_met_exactly() -> None:
    rules = Rules(min_notice=timedelta(0), buffer_after=timedelta(0), horizon=timedelta(days=1))
    now = at(DAY, 10) - timedelta(days=1)
    assert hhmm(free_slots(cal(), [DAY], timedelta(hours=1), rules, now)) == [
        "09:00",
        "09:30",
        "10:00",
    ]
    earlier = now - timedelta(seconds=1)
    assert hhmm(free_slots(cal(), [DAY], timedelta(hours=1), rules, earlier)) == [
        "09:00",
        "09:30",
    ]


def test_a_job_may_end_as_busy_time_begins_and_start_as_it_ends() -> None:
    busy = [(at(DAY, 10), at(DAY, 11))]
    got = free_slots(cal(busy=busy), [DAY], timedelta(hours=1), OPEN, LONG_AGO)
    assert hhmm(got) == ["09:00", "11:00"]


def test_buffers_are_real_time_around_the_job() -> None:
    busy = [(at(DAY, 10), at(DAY, 11))]
    rules = Rules(
        min_notice=timedelta(0),
        buffer_before=timedelta(minutes=30),
        buffer_after=timedelta(minutes=30),
        horizon=timedelta(days=9999),
    )
    got = free_slots(cal(closes=time(13), busy=busy), [DAY], timedelta(minutes=30), rules, LONG_AGO)
    assert hhmm(got) == ["09:00", "11:30", "12:00", "12:30"]


def test_overlapping_busy_times_merge_into_the_latest_end() -> None:
    busy = [(at(DAY, 9, 30), at(DAY, 11)), (at(DAY, 9), at(DAY, 10))]  # unsorted, overlapping
    got = free_slots(cal(), [DAY], timedelta(minutes=30), OPEN, LONG_AGO)
    assert len(got) == 6
    got = free_slots(cal(busy=busy), [DAY], timedelta(minutes=30), OPEN, LONG_AGO)
    assert hhmm(got) == ["11:00", "11:30"]
    inner = [(at(DAY, 9), at(DAY, 11)), (at(DAY, 9, 30), at(DAY, 10))]  # one inside the other
    got = free_slots(cal(busy=inner), [DAY], timedelta(minutes=30), OPEN, LONG_AGO)
    assert hhmm(got) == ["11:00", "11:30"]


def test_busy_intervals_merge_only_when_they_overlap() -> None:
    utc = [(at(DAY, h).astimezone(UTC), at(DAY, h + 1).astimezone(UTC)) for h in (9, 10)]
    touching = _Busy([utc[1], utc[0]])
    assert touching.starts == [utc[0][0], utc[1][0]]
    assert touching.ends == [utc[0][1], utc[1][1]]
    merged = _Busy([(at(DAY, 9), at(DAY, 11)), (at(DAY, 10), at(DAY, 10, 30))])
    assert (merged.starts, merged.ends) == ([at(DAY, 9)], [at(DAY, 11)])
    assert merged.starts[0].tzinfo is UTC  # kept in UTC
    assert merged.ends[0].tzinfo is UTC
    assert merged.free(at(DAY, 8), at(DAY, 9))
    assert not merged.free(at(DAY, 8), at(DAY, 9, 1))
    assert merged.free(at(DAY, 11), at(DAY, 12))
    assert not merged.free(at(DAY, 10, 59), at(DAY, 12))
    assert _Busy([]).free(at(DAY, 8), at(DAY, 9))
    apart = _Busy([(at(DAY, 9), at(DAY, 10)), (at(DAY, 11), at(DAY, 12))])
    assert apart.free(at(DAY, 10), at(DAY, 11))
    assert not apart.free(at(DAY, 10, 30), at(DAY, 11, 30))  # the later one is what counts
    assert apart.free(at(DAY, 12), at(DAY, 13))


def test_date_exceptions_replace_the_week_and_an_empty_one_closes_the_day() -> None:
    saturday = date(2027, 6, 5)
    c = cal(exceptions={DAY: [], saturday: [Window(time(14), time(15))]})
    assert windows_on(c, DAY) == []
    assert windows_on(c, saturday) == [Window(time(14), time(15))]
    assert windows_on(c, date(2027, 6, 6)) == []  # a Sunday without hours
    assert windows_on(c, date(2027, 6, 3)) == [Window(time(9), time(12))]
    got = free_slots(c, [DAY, saturday], timedelta(hours=1), OPEN, LONG_AGO)
    assert [(s.local_start.date(), s.local_start.hour) for s in got] == [(saturday, 14)]


def test_a_local_time_names_its_instant_none_in_the_gap_two_in_the_repeated_hour() -> None:
    assert local_instant(SPRING, time(2, 30), EDMONTON) is None
    three = local_instant(SPRING, time(3), EDMONTON)
    assert three is not None
    assert three.astimezone(UTC) == datetime(2027, 3, 14, 9, tzinfo=UTC)
    assert local_instants(SPRING, time(2), EDMONTON) == []
    assert local_instants(DAY, time(9), EDMONTON) == [at(DAY, 9)]
    one = local_instants(FALL, time(1, 30), EDMONTON)
    assert [i.astimezone(UTC) for i in one] == [
        datetime(2027, 11, 7, 7, 30, tzinfo=UTC),
        datetime(2027, 11, 7, 8, 30, tzinfo=UTC),
    ]
    assert [i.fold for i in one] == [0, 1]
    first = local_instant(FALL, time(1, 30), EDMONTON)
    assert first is not None
    assert first.fold == 0


def test_a_closing_time_inside_the_spring_gap_closes_at_the_jump() -> None:
    # Open 00:00 to 02:30 on the night 02:00 jumps to 03:00: 02:30 never happens, so a
    # job must end by the jump; one ending at 03:00 (the jump itself) reads past 02:30.
    c = Calendar(TEAM, "Night", EDMONTON, {SPRING.weekday(): [Window(time(0), time(2, 30))]})
    got = free_slots(c, [SPRING], timedelta(minutes=30), OPEN, LONG_AGO)
    assert hhmm(got) == ["00:00", "00:30", "01:00"]
    assert got[-1].end == datetime(2027, 3, 14, 8, 30, tzinfo=UTC)
    hour = free_slots(c, [SPRING], timedelta(hours=1), OPEN, LONG_AGO)
    assert hhmm(hour) == ["00:00", "00:30"]


def test_a_closing_time_in_the_repeated_hour_reads_as_a_wall_clock_time() -> None:
    c = Calendar(TEAM, "Night", EDMONTON, {FALL.weekday(): [Window(time(0), time(1, 30))]})
    got = free_slots(c, [FALL], timedelta(minutes=30), OPEN, LONG_AGO)
    # 01:00 is offered twice (MDT then MST); each ends at an 01:30 on the wall.
    assert hhmm(got) == ["00:00", "00:30", "01:00", "01:00"]
    assert [s.start.hour for s in got] == [6, 6, 7, 8]


def test_days_are_searched_in_the_order_given() -> None:
    thursday = DAY + timedelta(days=1)
    got = free_slots(cal(), [thursday, DAY], timedelta(hours=3), OPEN, LONG_AGO)
    assert [s.local_start for s in got] == [at(thursday, 9), at(DAY, 9)]
