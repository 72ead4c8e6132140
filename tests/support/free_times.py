"""Free times, asked of the app: a test never computes a date it hopes is free, it asks
``GET /v1/slots`` from today (the process clock's today in the business's zone)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx

from servio.platform.db import utcnow


def today_in(zone: str | ZoneInfo) -> date:
    return utcnow().astimezone(ZoneInfo(str(zone))).date()


async def free_starts(
    http: httpx.AsyncClient,
    org: str,
    *,
    duration_minutes: int,
    zone: str = "America/Edmonton",
    skip_days: int = 0,
    days: int = 14,
    resource_id: str | None = None,
) -> list[datetime]:
    """Every start the app offers for ``duration_minutes`` over ``days`` days, the first
    ``skip_days`` of them (from today) left out; fails the test when there is none."""
    params: dict[str, str | int] = {
        "org": org,
        "date": today_in(zone).isoformat(),
        "duration_minutes": duration_minutes,
        "days": days + skip_days,
    }
    if resource_id:
        params["resource_id"] = resource_id
    r = await http.get("/v1/slots", params=params)
    assert r.status_code == 200, r.text
    first = today_in(zone).toordinal() + skip_days
    starts = [datetime.fromisoformat(x["start"]) for x in r.json()["slots"]]
    found = [x for x in starts if x.astimezone(ZoneInfo(zone)).date().toordinal() >= first]
    assert found, f"no free start for {duration_minutes} min in {days} days: {params}"
    return found


def first_on_a_later_day(starts: list[datetime], after: datetime, zone: str) -> datetime:
    """The first of ``starts`` on a local day after ``after``'s."""
    tz = ZoneInfo(zone)
    return next(x for x in starts if x.astimezone(tz).date() > after.astimezone(tz).date())
