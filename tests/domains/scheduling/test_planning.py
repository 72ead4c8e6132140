"""Staff planning: suggested starts with their reasons, and the schedule's conflicts
(overlaps, blackouts and closed days, work outside hours), on both of America/Edmonton's
DST days of 2026, with bad input and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from servio.domains.identity import service as identity
from servio.domains.scheduling import service as scheduling
from servio.domains.scheduling.conflicts import Closure, detect_conflicts
from servio.domains.scheduling.models import DateException, Reservation, WeeklyHours
from servio.domains.scheduling.planning import Booked
from servio.domains.scheduling.slots import Calendar, Rules, Slot, Window, free_slots
from servio.domains.scheduling.suggestions import Suggestion, rank, suggest
from servio.platform.db import Database, utcnow
from tests.support.identity import Account, bearer, new_key, problem, register

TZ = ZoneInfo("America/Edmonton")
A, B = uuid.UUID(int=1), uuid.UUID(int=2)
EVERY_DAY = {d: [(time(9), time(18))] for d in range(7)}
ANY_TIME = Rules(min_notice=timedelta(0), horizon=timedelta(days=99999))
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
SPRING_FORWARD, FALL_BACK = date(2026, 3, 8), date(2026, 11, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local Edmonton wall time as a UTC instant (correct on DST days)."""
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


def job(resource: uuid.UUID, day: date, hour: int, hours: int, n: int = 10) -> Booked:
    """A booking of ``hours`` from ``hour`` local, with the default 30 min travel after."""
    start = at(day, hour)
    return Booked(
        uuid.UUID(int=n), resource, start, start + timedelta(hours=hours, minutes=30), "booking"
    )


def calendar(resource: uuid.UUID, name: str, *busy: Booked) -> Calendar:
    return Calendar(
        resource,
        name,
        TZ,
        {d: [Window(time(9), time(18))] for d in range(7)},
        busy=[(b.starts_at, b.ends_at) for b in busy],
    )


def free(cals: list[Calendar], first: date, days: int, hours: int) -> list[Slot]:
    span = [first + timedelta(days=i) for i in range(days)]
    found = [
        s for c in cals for s in free_slots(c, span, timedelta(hours=hours), ANY_TIME, LONG_AGO)
    ]
    return sorted(found, key=lambda s: (s.start, s.resource_name))


def summary(suggestions: list[Suggestion]) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return [
        (x.slot.resource_name, x.slot.local_start.strftime("%m-%d %H:%M"), x.score, x.reasons)
        for x in suggestions
    ]


# --- ranking, pure ----------------------------------------------------------------------

DAY = date(2027, 6, 2)  # a Wednesday


def test_ranking_packs_the_day_spreads_the_load_and_offers_the_earliest() -> None:
    booked = job(A, DAY, 9, 3)  # Team A: 09:00-12:00, travel to 12:30
    slots = free([calendar(A, "Team A", booked), calendar(B, "Team B")], DAY, 1, 2)
    assert summary(rank(slots, [booked], ANY_TIME, first_day=DAY)) == [
        ("Team B", "06-02 09:00", 125, ("Team B has the lightest day", "earliest free start")),
        ("Team A", "06-02 12:30", 125, ("follows an existing job",)),
        ("Team B", "06-02 09:30", 115, ("Team B has the lightest day",)),
    ]
    # Over two days the third pick is a real alternative (another team and day), not
    # Team B's 09:30 after its 09:00; a later day costs 3 points a day.
    slots = free([calendar(A, "Team A", booked), calendar(B, "Team B")], DAY, 2, 2)
    assert summary(rank(slots, [booked], ANY_TIME, first_day=DAY))[2] == (
        "Team A",
        "06-03 09:00",
        97,
        ("free on Thu 2027-06-03",),
    )


def test_ranking_a_gap_between_jobs_and_a_single_team() -> None:
    booked = job(A, DAY, 13, 2)  # 13:00-15:00, travel to 15:30
    slots = free([calendar(A, "Team A", booked)], DAY, 1, 2)
    # 10:30 + 2 h + 30 min travel reaches the 13:00 job exactly; alone, a team is
    # never "the lightest".
    assert summary(rank(slots, [booked], ANY_TIME, first_day=DAY)) == [
        ("Team A", "06-02 15:30", 125, ("follows an existing job",)),
        ("Team A", "06-02 10:30", 115, ("leads straight into the next job",)),
        ("Team A", "06-02 09:00", 110, ("earliest free start",)),
    ]


def test_ranking_near_the_preferred_time() -> None:
    booked = job(A, DAY, 9, 3)
    slots = free([calendar(A, "Team A", booked), calendar(B, "Team B")], DAY, 1, 2)
    got = rank(slots, [booked], ANY_TIME, first_day=DAY, preferred=time(14))
    # 12:30 is 90 min off (20 - 6 points) but follows Team A's job (+25).
    assert summary(got) == [
        ("Team A", "06-02 12:30", 139, ("follows an existing job",)),
        ("Team B", "06-02 14:00", 135, ("at the preferred time", "Team B has the lightest day")),
        (
            "Team B",
            "06-02 13:30",
            133,
            ("30 min before the preferred time", "Team B has the lightest day"),
        ),
    ]
    assert rank([], [booked], ANY_TIME, first_day=DAY) == []


def test_a_fully_booked_team_still_makes_the_other_the_lightest() -> None:
    booked = job(A, DAY, 9, 8)  # 09:00-17:00: no 2 h start left for Team A
    slots = free([calendar(A, "Team A", booked), calendar(B, "Team B")], DAY, 1, 2)
    assert {s.resource_name for s in slots} == {"Team B"}
    got = rank(slots, [booked], ANY_TIME, first_day=DAY, zones={A: TZ, B: TZ})
    assert got[0].reasons == ("Team B has the lightest day", "earliest free start")
    # Without the zones only the searched teams with a free start are compared.
    assert rank(slots, [booked], ANY_TIME, first_day=DAY)[0].reasons == ("earliest free start",)


# --- conflicts, pure --------------------------------------------------------------------


def test_detecting_overlaps_blackouts_and_hours() -> None:
    first = job(A, DAY, 9, 3, n=1)  # 09:00-12:30 taken
    second = Booked(uuid.UUID(int=2), A, at(DAY, 12), at(DAY, 14), "hold", uuid.UUID(int=9))
    late = job(A, DAY, 16, 3, n=3)  # ends 19:00: after closing
    off = Closure(uuid.UUID(int=7), None, at(DAY, 14), at(DAY, 15), "Inspection")
    got = detect_conflicts(
        [calendar(A, "Team A")],
        [late, second, first],
        [off],
        Rules(),
        first_day=DAY,
        last_day=DAY,
    )
    assert [
        (c.kind, c.local_start.strftime("%H:%M"), c.local_end.strftime("%H:%M"), c.reservation_ids)
        for c in got
    ] == [
        ("overlap", "12:00", "12:30", (first.id, second.id)),
        ("outside_hours", "16:00", "19:00", (late.id,)),
    ]
    assert got[0].booking_ids == (uuid.UUID(int=9),)
    assert got[0].detail == (
        "Team A is taken twice from 12:00-12:30: booking 09:00-12:30 and hold 12:00-14:00 "
        "(buffers included)."
    )
    assert (
        got[1].detail
        == "The booking 16:00-19:00 on Wed 2027-06-02 is outside Team A's hours 09:00-18:00."
    )
    # The blackout starts when the hold's time ends: half-open intervals never meet.
    assert (
        detect_conflicts(
            [calendar(A, "Team A")], [second], [off], Rules(), first_day=DAY, last_day=DAY
        )
        == []
    )
    inside = Booked(uuid.UUID(int=4), A, at(DAY, 14), at(DAY, 14, 30), "hold")
    [hit] = detect_conflicts(
        [calendar(A, "Team A")], [inside], [off], Rules(), first_day=DAY, last_day=DAY
    )
    assert (hit.kind, hit.blackout_id, hit.booking_ids) == ("blackout", off.id, ())
    # Only problems starting in the range are listed.
    assert (
        detect_conflicts(
            [calendar(A, "Team A")],
            [first, second],
            [],
            Rules(),
            first_day=DAY + timedelta(days=1),
            last_day=DAY + timedelta(days=1),
        )
        == []
    )


# --- the routes -------------------------------------------------------------------------


async def business(
    api: httpx.AsyncClient, db: Database, email: str = "ada@example.com", name: str = "Bright"
) -> tuple[Account, uuid.UUID, uuid.UUID]:
    owner = await register(api, email, name)
    async with db.unit_of_work(system=True) as s:
        org = await identity.get_org(s, owner.org_id)
        org.timezone = "America/Edmonton"
        team_a = await scheduling.add_resource(s, owner.org_id, "Team A", "team", EVERY_DAY)
        team_b = await scheduling.add_resource(s, owner.org_id, "Team B", "team", EVERY_DAY)
    return owner, team_a.id, team_b.id


async def take(
    db: Database,
    org_id: uuid.UUID,
    resource: uuid.UUID,
    start: datetime,
    hours: float,
    *,
    kind: str = "booking",
    expires_at: datetime | None = None,
) -> Reservation:
    """Reservation rows as a booking leaves them: the job plus 30 min travel, owned by a
    booking id. Written directly, so past days and edited data can be built."""
    async with db.unit_of_work(system=True) as s:
        row = Reservation(
            org_id=org_id,
            resource_id=resource,
            starts_at=start,
            ends_at=start + timedelta(hours=hours, minutes=30),
            kind=kind,
            ref_id=uuid.uuid4(),
            expires_at=expires_at,
        )
        s.add(row)
    return row


def utc(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _day(d: date) -> str:
    return f"{d:%a} {d.isoformat()}"


def soon() -> date:
    return (utcnow().astimezone(TZ) + timedelta(days=3)).date()


def local(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k][11:16] if k.startswith("local_") else r[k] for k in keys) for r in rows]


async def test_suggestions_through_the_api(api: httpx.AsyncClient, db: Database) -> None:
    owner, team_a, team_b = await business(api, db)
    day = soon()
    async with db.unit_of_work(owner.org_id) as s:
        await scheduling.reserve(
            s,
            owner.org_id,
            resource_id=team_a,
            start=at(day, 9),
            duration=timedelta(hours=3),
            kind="booking",
        )
    url = "/v1/admin/schedule/suggestions"
    params: dict[str, str | int] = {"date": day.isoformat(), "duration_minutes": 120, "days": 1}
    r = await api.get(url, params=params, headers=owner.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "America/Edmonton"
    assert local(body["suggestions"], "resource_name", "local_start", "score", "reasons") == [
        ("Team B", "09:00", 125, ["Team B has the lightest day", "earliest free start"]),
        ("Team A", "12:30", 125, ["follows an existing job"]),
        ("Team B", "09:30", 115, ["Team B has the lightest day"]),
    ]
    best = body["suggestions"][0]
    assert best["resource_id"] == str(team_b)
    assert datetime.fromisoformat(best["start"]) == at(day, 9)
    assert datetime.fromisoformat(best["end"]) == at(day, 11)
    # Every start weighed is one the public slots route offers.
    slots = await api.get("/v1/slots", params=params | {"org": owner.org_slug})
    assert body["considered"] == len(slots.json()["slots"]) > 3

    near = await api.get(url, params=params | {"preferred_time": "14:00"}, headers=owner.auth)
    assert local(near.json()["suggestions"], "resource_name", "local_start") == [
        ("Team A", "12:30"),
        ("Team B", "14:00"),
        ("Team B", "13:30"),
    ]
    only_a = await api.get(
        url, params=params | {"resource_id": str(team_a), "days": 7}, headers=owner.auth
    )
    picks = only_a.json()["suggestions"]
    assert {p["resource_name"] for p in picks} == {"Team A"}
    assert local(picks, "local_start", "reasons")[0] == (
        "12:30",
        ["follows an existing job", "earliest free start"],
    )
    # The default search spans seven days.
    week = (await api.get(url, params=params | {"days": 7}, headers=owner.auth)).json()
    week_slots = await api.get("/v1/slots", params=params | {"days": 7, "org": owner.org_slug})
    assert week["considered"] == len(week_slots.json()["slots"])
    default = await api.get(
        url, params={"date": day.isoformat(), "duration_minutes": 120}, headers=owner.auth
    )
    assert default.json()["considered"] == week["considered"]


async def test_suggestion_bad_input(api: httpx.AsyncClient, db: Database) -> None:
    owner, _team_a, _team_b = await business(api, db)
    url = "/v1/admin/schedule/suggestions"
    day = soon().isoformat()

    async def get(**params: str | int) -> httpx.Response:
        query: dict[str, str | int] = {"date": day, "duration_minutes": 60}
        return await api.get(url, params=query | params, headers=owner.auth)

    refused: list[dict[str, str | int]] = [
        {"date": "2026-02-30"},
        {"duration_minutes": 0},
        {"duration_minutes": 24 * 60 + 1},
        {"days": 0},
        {"days": 32},
        {"preferred_time": "25:00"},
        {"preferred_time": "9am"},
        {"resource_id": "team-a"},
    ]
    for bad in refused:
        problem(await get(**bad), 422, "validation-error")
    missing = await api.get(url, params={"date": day}, headers=owner.auth)
    assert (
        problem(missing, 422, "validation-error")["errors"][0]["field"] == "query.duration_minutes"
    )
    yesterday = (utcnow().astimezone(TZ) - timedelta(days=1)).date().isoformat()
    past = problem(await get(date=yesterday), 422, "invalid-slot-request")
    assert past["field"] == "date"
    assert "in the past" in str(past["detail"])
    far = (utcnow().astimezone(TZ) + timedelta(days=200)).date().isoformat()
    beyond = problem(await get(date=far), 422, "invalid-slot-request")
    assert "beyond the booking horizon" in str(beyond["detail"])
    # 09:00 to 18:00 leaves no room for a ten-hour job.
    long_job = problem(await get(duration_minutes=600), 422, "invalid-slot-request")
    assert long_job["field"] == "duration_minutes"
    assert long_job["detail"] == "The job is longer than any working day."
    problem(await get(resource_id=str(uuid.uuid4())), 404, "resource-not-found")
    problem(
        await api.get(url, params={"date": day, "duration_minutes": 60}), 401, "not-authenticated"
    )
    key = await new_key(api, owner.auth, permissions=["leads:read"])
    denied = await api.get(
        url, params={"date": day, "duration_minutes": 60}, headers=bearer(key["key"])
    )
    assert problem(denied, 403, "forbidden")["permission"] == "bookings:read"
    reader = await new_key(api, owner.auth, permissions=["bookings:read"])
    allowed = await api.get(
        url, params={"date": day, "duration_minutes": 60}, headers=bearer(reader["key"])
    )
    assert allowed.status_code == 200, allowed.text


async def test_another_business_resources_are_not_found(
    api: httpx.AsyncClient, db: Database
) -> None:
    ada, _team_a, _team_b = await business(api, db)
    bob, team_z, _team_y = await business(api, db, "bob@example.com", "Other")
    day = soon()
    await take(db, bob.org_id, team_z, at(day, 7), 2)  # 07:00: before Bob's hours
    routes: list[tuple[str, dict[str, str | int]]] = [
        ("/v1/admin/schedule/suggestions", {"date": day.isoformat(), "duration_minutes": 60}),
        ("/v1/admin/schedule/conflicts", {}),
    ]
    for url, params in routes:
        r = await api.get(url, params=params | {"resource_id": str(team_z)}, headers=ada.auth)
        problem(r, 404, "resource-not-found")
    mine = await api.get("/v1/admin/schedule/conflicts", headers=ada.auth)
    assert mine.json()["conflicts"] == []
    theirs = await api.get("/v1/admin/schedule/conflicts", headers=bob.auth)
    assert local(theirs.json()["conflicts"], "kind", "resource_id", "local_start") == [
        ("outside_hours", str(team_z), "07:00")
    ]
    # Bob's reservation never counts in Ada's suggestions either.
    r = await api.get(
        "/v1/admin/schedule/suggestions",
        params={"date": day.isoformat(), "duration_minutes": 60, "days": 1},
        headers=ada.auth,
    )
    assert all("follows" not in " ".join(x["reasons"]) for x in r.json()["suggestions"])


async def test_suggestions_on_both_dst_days(api: httpx.AsyncClient, db: Database) -> None:
    owner, team_a, _team_b = await business(api, db)
    for day, offset in ((SPRING_FORWARD, "-06:00"), (FALL_BACK, "-07:00")):
        await take(db, owner.org_id, team_a, at(day, 9), 3)
        async with db.unit_of_work(owner.org_id) as s:
            got, considered = await suggest(
                s,
                owner.org_id,
                first_day=day,
                days=1,
                duration=timedelta(hours=2),
                now=datetime.combine(day - timedelta(days=7), time(0), tzinfo=UTC),
            )
        assert summary(got) == [
            (
                "Team B",
                f"{day:%m-%d} 09:00",
                125,
                ("Team B has the lightest day", "earliest free start"),
            ),
            ("Team A", f"{day:%m-%d} 12:30", 125, ("follows an existing job",)),
            ("Team B", f"{day:%m-%d} 09:30", 115, ("Team B has the lightest day",)),
        ]
        assert [x.slot.local_start.isoformat()[-6:] for x in got] == [offset] * 3
        # 09:00 local is 15:00 UTC under MDT (after spring-forward), 16:00 under MST.
        hour = 15 if offset == "-06:00" else 16
        assert got[0].slot.start == datetime.combine(day, time(hour), tzinfo=UTC)
        assert got[1].slot.start == datetime.combine(day, time(hour + 3, 30), tzinfo=UTC)
        assert considered == 15 + 8  # Team B 09:00..16:00, Team A 12:30..16:00


async def test_conflicts_of_each_kind(api: httpx.AsyncClient, db: Database) -> None:
    owner, team_a, team_b = await business(api, db)
    today = utcnow().astimezone(TZ).date()
    day = today + timedelta(days=3)
    booking = await take(db, owner.org_id, team_a, at(day, 9), 3)
    # An expired hold is no longer in the schedule, whatever falls on it.
    await take(
        db,
        owner.org_id,
        team_a,
        at(day, 14),
        1,
        kind="hold",
        expires_at=utcnow() - timedelta(minutes=1),
    )
    closed = await take(db, owner.org_id, team_b, at(day + timedelta(days=1), 9), 3)
    early = await take(db, owner.org_id, team_b, at(day + timedelta(days=2), 9), 3)
    short = await take(db, owner.org_id, team_b, at(day + timedelta(days=4), 10), 3)
    day_off = await take(db, owner.org_id, team_b, at(day + timedelta(days=5), 9), 1)
    fine = await take(db, owner.org_id, team_b, at(day, 9), 8.5)  # 09:00-17:30
    url = "/v1/admin/schedule/conflicts"
    clean = await api.get(url, headers=owner.auth)
    assert clean.status_code == 200, clean.text
    assert clean.json() == {
        "timezone": "America/Edmonton",
        "from": today.isoformat(),
        "to": (today + timedelta(days=14)).isoformat(),
        "conflicts": [],
    }

    # Staff then block time, close a day and change hours under the existing bookings.
    r = await api.post(
        "/v1/admin/blackouts",
        json={
            "resource_id": str(team_a),
            "starts_at": at(day, 11).isoformat(),
            "ends_at": at(day, 16).isoformat(),
            "reason": "Van service",
        },
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    blackout_id = r.json()["id"]
    async with db.unit_of_work(system=True) as s:
        s.add(
            DateException(
                org_id=owner.org_id, day=day + timedelta(days=1), closed=True, reason="Family Day"
            )
        )
        s.add(
            DateException(
                org_id=owner.org_id,
                resource_id=team_b,
                day=day + timedelta(days=4),
                closed=False,
                opens=time(10),
                closes=time(12),
                reason="Short day",
            )
        )
        await s.execute(
            update(WeeklyHours)
            .where(
                WeeklyHours.resource_id == team_b,
                WeeklyHours.weekday == (day + timedelta(days=2)).weekday(),
            )
            .values(opens=time(10))
        )
        await s.execute(
            delete(WeeklyHours).where(
                WeeklyHours.resource_id == team_b,
                WeeklyHours.weekday == (day + timedelta(days=5)).weekday(),
            )
        )

    body = (await api.get(url, headers=owner.auth)).json()
    got = body["conflicts"]
    assert local(got, "kind", "resource_name", "local_start", "local_end", "reservation_ids") == [
        ("blackout", "Team A", "11:00", "12:30", [str(booking.id)]),
        ("blackout", "Team B", "09:00", "12:00", [str(closed.id)]),
        ("outside_hours", "Team B", "09:00", "12:00", [str(early.id)]),
        ("outside_hours", "Team B", "10:00", "13:00", [str(short.id)]),
        ("outside_hours", "Team B", "09:00", "10:00", [str(day_off.id)]),
    ]
    assert fine.id not in {c["reservation_ids"][0] for c in got}
    first = got[0]
    assert first["booking_ids"] == [str(booking.ref_id)]
    assert first["blackout_id"] == blackout_id
    assert datetime.fromisoformat(first["start"]) == at(day, 11)
    assert datetime.fromisoformat(first["end"]) == at(day, 12, 30)
    assert first["detail"] == (
        "The booking on Team A 09:00-12:30 (buffers included) meets the blackout for "
        "Team A 11:00-16:00 (Van service)."
    )
    weekday = (day + timedelta(days=5)).strftime("%A")
    assert [c["detail"] for c in got[1:]] == [
        f"Team B is closed on {_day(day + timedelta(days=1))} (Family Day); "
        "the booking 09:00-12:00 falls on it.",
        f"The booking 09:00-12:00 on {_day(day + timedelta(days=2))} is outside "
        "Team B's hours 10:00-18:00.",
        f"The booking 10:00-13:00 on {_day(day + timedelta(days=4))} is outside "
        "Team B's hours 10:00-12:00 (special hours: Short day).",
        f"Team B does not work on {weekday}s; the booking 09:00-10:00 is on "
        f"{(day + timedelta(days=5)).isoformat()}.",
    ]
    # A range or a resource narrows the list.
    only_a = await api.get(url, params={"resource_id": str(team_a)}, headers=owner.auth)
    assert [c["resource_name"] for c in only_a.json()["conflicts"]] == ["Team A"]
    later = await api.get(
        url,
        params={
            "from": (day + timedelta(days=2)).isoformat(),
            "to": (day + timedelta(days=4)).isoformat(),
        },
        headers=owner.auth,
    )
    assert [c["reservation_ids"] for c in later.json()["conflicts"]] == [
        [str(early.id)],
        [str(short.id)],
    ]


async def test_conflicts_read_hours_in_local_time_on_dst_days(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, team_a, team_b = await business(api, db)
    before_spring, before_fall = SPRING_FORWARD - timedelta(days=1), FALL_BACK - timedelta(days=1)
    # 15:00 UTC is 09:00 MDT on the spring-forward day but 08:00 MST the day before.
    ok_spring = await take(db, owner.org_id, team_a, utc(SPRING_FORWARD, 15), 3)
    early_spring = await take(db, owner.org_id, team_a, utc(before_spring, 15), 3)
    # 15:00-18:00 MDT ends at 00:00 UTC the next day: inside.
    late_ok = await take(db, owner.org_id, team_b, utc(SPRING_FORWARD, 21), 3)
    assert late_ok.starts_at.astimezone(TZ).strftime("%H:%M") == "15:00"
    await take(db, owner.org_id, team_b, utc(before_spring, 20), 2)  # 13:00-15:00 MST: fine
    # 16:00 UTC is 09:00 MST on the fall-back day; 15:00 UTC is 08:00 MST there but
    # 09:00 MDT the day before.
    ok_fall = await take(db, owner.org_id, team_a, utc(FALL_BACK, 16), 3)
    early_fall = await take(db, owner.org_id, team_b, utc(FALL_BACK, 15), 3)
    ok_before_fall = await take(db, owner.org_id, team_b, utc(before_fall, 15), 3)
    # 15:00-18:00 MST = 22:00-01:00 UTC: inside (read as MDT it would end at 19:00).
    late_fall = await take(db, owner.org_id, team_a, utc(FALL_BACK, 22), 3)
    url = "/v1/admin/schedule/conflicts"
    spring = await api.get(
        url,
        params={"from": before_spring.isoformat(), "to": SPRING_FORWARD.isoformat()},
        headers=owner.auth,
    )
    assert spring.status_code == 200, spring.text
    got = spring.json()["conflicts"]
    assert [(c["kind"], c["reservation_ids"], c["local_start"], c["local_end"]) for c in got] == [
        (
            "outside_hours",
            [str(early_spring.id)],
            "2026-03-07T08:00:00-07:00",
            "2026-03-07T11:00:00-07:00",
        )
    ]
    fall = await api.get(
        url,
        params={"from": before_fall.isoformat(), "to": FALL_BACK.isoformat()},
        headers=owner.auth,
    )
    got = fall.json()["conflicts"]
    assert [(c["kind"], c["reservation_ids"], c["local_start"], c["local_end"]) for c in got] == [
        (
            "outside_hours",
            [str(early_fall.id)],
            "2026-11-01T08:00:00-07:00",
            "2026-11-01T11:00:00-07:00",
        )
    ]
    assert got[0]["detail"] == (
        "The booking 08:00-11:00 on Sun 2026-11-01 is outside Team B's hours 09:00-18:00."
    )
    flagged = {early_spring.id, early_fall.id}
    assert not flagged & {ok_spring.id, ok_fall.id, ok_before_fall.id, late_fall.id}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_overlapping_reservations_written_directly(
    api: httpx.AsyncClient, db: Database
) -> None:
    """SQLite only: on PostgreSQL the exclusion constraint refuses the second row (see
    the next test), so this overlap can only exist on SQLite, written past the service."""
    owner, team_a, _team_b = await business(api, db)
    day = soon()
    first = await take(db, owner.org_id, team_a, at(day, 9), 3)
    second = await take(db, owner.org_id, team_a, at(day, 11), 2, kind="hold")
    third = await take(db, owner.org_id, team_a, at(day, 12), 1)
    got = (await api.get("/v1/admin/schedule/conflicts", headers=owner.auth)).json()["conflicts"]
    assert local(got, "kind", "local_start", "local_end", "reservation_ids", "booking_ids") == [
        (
            "overlap",
            "11:00",
            "12:30",
            [str(first.id), str(second.id)],
            [str(first.ref_id), str(second.ref_id)],
        ),
        (
            "overlap",
            "12:00",
            "12:30",
            [str(first.id), str(third.id)],
            [str(first.ref_id), str(third.ref_id)],
        ),
        (
            "overlap",
            "12:00",
            "13:30",
            [str(second.id), str(third.id)],
            [str(second.ref_id), str(third.ref_id)],
        ),
    ]
    assert got[0]["detail"] == (
        "Team A is taken twice from 11:00-12:30: booking 09:00-12:30 and hold 11:00-13:30 "
        "(buffers included)."
    )


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_postgres_refuses_the_overlap_itself(api: httpx.AsyncClient, db: Database) -> None:
    owner, team_a, _team_b = await business(api, db)
    day = soon()
    await take(db, owner.org_id, team_a, at(day, 9), 3)
    with pytest.raises(IntegrityError, match="reservations_no_overlap"):
        await take(db, owner.org_id, team_a, at(day, 11), 2)


async def test_conflict_range_bad_input(api: httpx.AsyncClient, db: Database) -> None:
    owner, _team_a, _team_b = await business(api, db)
    url = "/v1/admin/schedule/conflicts"

    async def get(**params: str) -> httpx.Response:
        return await api.get(url, params=params, headers=owner.auth)

    backwards = problem(
        await get(**{"from": "2026-03-10", "to": "2026-03-09"}), 422, "invalid-schedule-range"
    )
    assert (backwards["field"], backwards["detail"]) == (
        "to",
        "to (2026-03-09) is before from (2026-03-10).",
    )
    too_long = problem(
        await get(**{"from": "2026-01-01", "to": "2026-03-04"}), 422, "invalid-schedule-range"
    )
    assert too_long["detail"] == "The range spans 63 days; at most 62 are allowed."
    assert too_long["max_days"] == 62
    longest = await get(**{"from": "2026-01-01", "to": "2026-03-03"})
    assert longest.status_code == 200, longest.text
    one_day = (await get(**{"from": "2026-03-08", "to": "2026-03-08"})).json()
    assert (one_day["from"], one_day["to"]) == ("2026-03-08", "2026-03-08")
    from_only = (await get(**{"from": "2026-03-01"})).json()
    assert (from_only["from"], from_only["to"]) == ("2026-03-01", "2026-03-15")
    for bad in ({"from": "2026-02-30"}, {"to": "tomorrow"}, {"resource_id": "x"}):
        problem(await get(**bad), 422, "validation-error")
    problem(await get(resource_id=str(uuid.uuid4())), 404, "resource-not-found")
    problem(await api.get(url), 401, "not-authenticated")
