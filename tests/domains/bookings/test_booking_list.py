"""``GET /v1/admin/bookings`` pages by start time with a cursor, like every other list:
walking every page gives each booking once, in order, ties broken by id."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

import httpx
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.domains.scheduling import service as scheduling
from servio.domains.scheduling.models import Resource
from servio.platform.db import Database
from tests.support.bookings import booking_body, business
from tests.support.identity import problem


async def test_walking_the_pages_gives_every_booking_once_in_start_order(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    async with db.unit_of_work(system=True) as s:
        teams = [
            (
                await scheduling.add_resource(
                    s, owner.org_id, name, "team", {d: [(time(9), time(18))] for d in range(7)}
                )
            ).id
            for name in ("Team B", "Team C")
        ]
        first = await s.scalar(select(Resource.id).where(Resource.name == "Team A"))
    assert first is not None
    for hours in (0, 2, 4):  # three starts, each on three teams: ties on the start time
        for team in (first, *teams):
            body = booking_body(
                start + timedelta(hours=hours), resource_id=str(team), duration_minutes=60
            )
            del body["inputs"]
            r = await api.post(f"/v1/bookings?org={owner.org_slug}", json=body)
            assert r.status_code == 201, r.text

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await api.get("/v1/admin/bookings", params=params, headers=owner.auth)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        seen += [x["id"] for x in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    async with db.unit_of_work(system=True) as s:
        rows = list(await s.scalars(select(Booking).where(Booking.org_id == owner.org_id)))
    expected = [str(b.id) for b in sorted(rows, key=lambda b: (b.starts_at, b.id))]
    assert len(expected) == 9
    assert seen == expected  # no duplicate, no gap, start order then id
    assert len({uuid.UUID(x) for x in seen}) == 9

    whole = (await api.get("/v1/admin/bookings", headers=owner.auth)).json()
    assert [x["id"] for x in whole["items"]] == expected
    assert whole["next_cursor"] is None


async def test_a_booking_cursor_not_issued_here_is_refused(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, _start = await business(api, db)
    r = await api.get("/v1/admin/bookings?cursor=bm90LWEtY3Vyc29y", headers=owner.auth)
    problem(r, 400, "invalid-cursor")
