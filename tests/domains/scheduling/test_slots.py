"""Free slots: hours, buffers, notice, busy time, and both DST changes of
America/Edmonton; the API and the no-double-booking guarantee."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from servio.domains.scheduling import service
from servio.domains.scheduling.models import Reservation
from servio.domains.scheduling.slots import Calendar, Rules, Window, free_slots
from servio.platform.db import Database, utcnow
from tests.support.identity import problem
from tests.support.orgs import add_org

EDMONTON = ZoneInfo("America/Edmonton")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def cal(opens: time, closes: time, busy: list[tuple[datetime, datetime]] | None = None) -> Calendar:
    return Calendar(
        uuid.uuid4(),
        "Team A",
        EDMONTON,
        {d: [Window(opens, closes)] for d in range(7)},
        busy=busy or [],
    )


def starts(
    c: Calendar, day: date, minutes: int, rules: Rules = Rules(), now: datetime = LONG_AGO
) -> list[str]:
    rules = Rules(
        step=rules.step,
        buffer_after=rules.buffer_after,
        min_notice=rules.min_notice,
        horizon=timedelta(days=99999),
    )
    return [
        s.local_start.strftime("%H:%M")
        for s in free_slots(c, [day], timedelta(minutes=minutes), rules, now)
    ]


def test_a_plain_day_with_buffers_and_busy_time() -> None:
    day = date(2027, 6, 2)
    busy_from = datetime.combine(day, time(12), tzinfo=EDMONTON)
    c = cal(time(9), time(18), busy=[(busy_from, busy_from + timedelta(hours=3))])
    # A 2 h job plus 30 min travel must be done by the noon booking, and end by 18:00.
    assert starts(c, day, 120) == ["09:00", "09:30", "15:00", "15:30", "16:00"]
    assert starts(c, day, 600) == []  # longer than the day


def test_minimum_notice_and_utc_times() -> None:
    day = date(2027, 6, 2)
    now = datetime.combine(day, time(7), tzinfo=EDMONTON).astimezone(UTC)
    got = free_slots(
        cal(time(9), time(18)), [day], timedelta(hours=2), Rules(min_notice=timedelta(hours=4)), now
    )
    assert got[0].local_start.strftime("%H:%M") == "11:00"
    assert got[0].start == datetime(2027, 6, 2, 17, 0, tzinfo=UTC)  # MDT is UTC-6


def test_spring_forward_skips_the_missing_hour() -> None:
    day = date(2027, 3, 14)  # 02:00 MST jumps to 03:00 MDT
    c = cal(time(0), time(6))
    got = free_slots(
        c,
        [day],
        timedelta(hours=3),
        Rules(min_notice=timedelta(0), horizon=timedelta(days=9999)),
        LONG_AGO,
    )
    local = [s.local_start.strftime("%H:%M") for s in got]
    assert "02:00" not in local
    assert "02:30" not in local
    first = got[0]
    assert first.local_start.strftime("%H:%M") == "00:00"
    assert first.local_end.strftime("%H:%M") == "04:00"  # 3 real hours
    assert first.end - first.start == timedelta(hours=3)
    assert local[-1] == "03:00"  # 03:00 + 3 h = 06:00 closing


def test_fall_back_offers_the_repeated_hour_for_each_instant() -> None:
    day = date(2027, 11, 7)  # 02:00 MDT falls back to 01:00 MST
    c = cal(time(0), time(6))
    got = free_slots(
        c,
        [day],
        timedelta(hours=1),
        Rules(min_notice=timedelta(0), horizon=timedelta(days=9999)),
        LONG_AGO,
    )
    ones = [s.start for s in got if s.local_start.strftime("%H:%M") == "01:00"]
    # The first 01:00 (MDT) and the second (MST): the team is open through both.
    assert ones == [
        datetime(2027, 11, 7, 7, 0, tzinfo=UTC),
        datetime(2027, 11, 7, 8, 0, tzinfo=UTC),
    ]
    nine = free_slots(
        cal(time(9), time(18)),
        [day],
        timedelta(hours=1),
        Rules(min_notice=timedelta(0), horizon=timedelta(days=9999)),
        LONG_AGO,
    )[0]
    assert nine.start == datetime(2027, 11, 7, 16, 0, tzinfo=UTC)  # 09:00 MST is UTC-7


@pytest.mark.parametrize("day", [date(2027, 3, 14), date(2027, 11, 7), date(2027, 6, 2)])
def test_a_round_the_clock_resource_has_a_start_every_half_hour_of_real_time(day: date) -> None:
    """Open 00:00 to 23:59 on both DST change days and a plain one: no real half hour
    is skipped (the spring gap names no instant) and none is offered twice."""
    got = free_slots(
        cal(time(0), time(23, 59)),
        [day],
        timedelta(hours=2),
        Rules(min_notice=timedelta(0), buffer_after=timedelta(0), horizon=timedelta(days=9999)),
        LONG_AGO,
    )
    steps = {b.start - a.start for a, b in itertools.pairwise(got)}
    assert steps == {timedelta(minutes=30)}
    assert got[0].local_start.strftime("%H:%M") == "00:00"
    assert got[-1].local_end.strftime("%H:%M") <= "23:59"
    hours = (got[-1].start - got[0].start) / timedelta(hours=1)
    assert hours == {date(2027, 3, 14): 20.5, date(2027, 11, 7): 22.5}.get(day, 21.5)


async def _team(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "shine")
        team = await service.add_resource(
            s, org.id, "Team A", "team", {d: [(time(9), time(18))] for d in range(7)}
        )
        return org.id, team.id


async def test_slots_api_and_a_reservation_taking_time(
    api: httpx.AsyncClient, db: Database
) -> None:
    org_id, team_id = await _team(db)
    day = (utcnow().astimezone(EDMONTON) + timedelta(days=3)).date()
    r = await api.get(
        "/v1/slots", params={"org": "shine", "date": day.isoformat(), "duration_minutes": 180}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "America/Edmonton"
    first = body["slots"][0]
    assert first["local_start"].startswith(f"{day.isoformat()}T09:00")
    start = datetime.fromisoformat(first["start"])
    async with db.unit_of_work(org_id) as s:
        await service.reserve(
            s, org_id, resource_id=team_id, start=start, duration=timedelta(hours=3), kind="booking"
        )
    after = (
        await api.get(
            "/v1/slots", params={"org": "shine", "date": day.isoformat(), "duration_minutes": 180}
        )
    ).json()
    local = [x["local_start"][11:16] for x in after["slots"]]
    assert local[0] == "12:30"  # 09:00-12:00 taken, plus 30 min travel
    problem(
        await api.get(
            "/v1/slots", params={"org": "shine", "date": day.isoformat(), "duration_minutes": 600}
        ),
        422,
        "invalid-slot-request",
    )
    problem(
        await api.get(
            "/v1/slots", params={"org": "nope", "date": day.isoformat(), "duration_minutes": 60}
        ),
        404,
        "org-not-found",
    )
    problem(
        await api.get(
            "/v1/slots", params={"org": "shine", "date": "2027-02-30", "duration_minutes": 60}
        ),
        422,
        "validation-error",
    )
    for when, says in [
        (day - timedelta(days=5), "in the past"),
        (day + timedelta(days=90), "horizon"),
    ]:
        refused = problem(
            await api.get(
                "/v1/slots",
                params={"org": "shine", "date": when.isoformat(), "duration_minutes": 60},
            ),
            422,
            "invalid-slot-request",
        )
        assert refused["field"] == "date"
        assert says in str(refused["detail"])


async def test_a_job_one_team_can_do_is_offered_though_another_works_shorter_days(
    api: httpx.AsyncClient, db: Database
) -> None:
    org_id, team_id = await _team(db)
    async with db.unit_of_work(org_id) as s:
        await service.add_resource(
            s, org_id, "Mornings", "team", {d: [(time(9), time(13))] for d in range(7)}
        )
    day = (utcnow().astimezone(EDMONTON) + timedelta(days=3)).date()
    r = await api.get(
        "/v1/slots", params={"org": "shine", "date": day.isoformat(), "duration_minutes": 360}
    )
    assert r.status_code == 200, r.text
    assert {x["resource_id"] for x in r.json()["slots"]} == {str(team_id)}


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_concurrent_reservations_of_one_slot_only_one_wins(db: Database) -> None:
    org_id, team_id = await _team(db)
    day = (utcnow().astimezone(EDMONTON) + timedelta(days=3)).date()
    start = datetime.combine(day, time(10), tzinfo=EDMONTON).astimezone(UTC)

    async def attempt() -> str:
        try:
            async with db.unit_of_work(org_id) as s:
                await service.reserve(
                    s,
                    org_id,
                    resource_id=team_id,
                    start=start,
                    duration=timedelta(hours=2),
                    kind="hold",
                )
            return "ok"
        except service.SlotTaken as exc:
            return "taken" if exc.extra["alternatives"] else "taken, no alternatives"

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert results.count("ok") == 1
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(Reservation)) == 1
