"""``/app/board``: the bookings of a day (a column per hour) or a week (a column per
day), a row per team or resource, with links to each booking. ``?day=YYYY-MM-DD`` picks
the day (today in the business's time zone by default), ``?view=day|week`` the span."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from babel.dates import format_date
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from servio.domains.bookings import listing
from servio.domains.bookings.models import Booking
from servio.platform.dates import parse_sane_date
from servio.platform.http.auth import database
from servio.platform.security.principal import Principal
from servio.web.pages.console_auth import console_member
from servio.web.pages.console_home import OrgView, org_view, resource_names
from servio.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(console_member("bookings:read"))]
FIRST_HOUR, LAST_HOUR = 7, 19  # the day view's hours, widened to fit every booking
OTHER = "Other team"


@dataclass
class BoardRow:
    name: str
    cells: list[list[Booking]] = field(default_factory=list)


@dataclass(frozen=True)
class Column:
    key: int | date
    label: str
    today: bool = False


def _parse_day(raw: str | None, today: date) -> date:
    try:
        return parse_sane_date(raw) if raw else today
    except ValueError:
        return today


def _span(day: date, view: str) -> tuple[date, date]:
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day, day


def _columns(
    ov: OrgView, view: str, first: date, last: date, bookings: list[Booking]
) -> list[Column]:
    today = ov.today()
    if view == "week":
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [Column(d, format_date(d, "EEE d MMM", locale=ov.locale), d == today) for d in days]
    hours = [b.starts_at.astimezone(ov.tz).hour for b in bookings]
    low, high = min([FIRST_HOUR, *hours]), max([LAST_HOUR, *hours])
    return [Column(h, f"{h:02d}:00") for h in range(low, high + 1)]


def _rows(
    ov: OrgView,
    view: str,
    columns: list[Column],
    names: dict[uuid.UUID, str],
    bookings: list[Booking],
) -> list[BoardRow]:
    position = {c.key: i for i, c in enumerate(columns)}
    rows: dict[uuid.UUID | None, BoardRow] = {
        rid: BoardRow(name, [[] for _ in columns]) for rid, name in names.items()
    }
    for b in bookings:
        local = b.starts_at.astimezone(ov.tz)
        at = position.get(local.date() if view == "week" else local.hour)
        if at is None:
            continue
        owner = b.resource_id if b.resource_id in rows else None
        row = rows.setdefault(owner, BoardRow(OTHER, [[] for _ in columns]))
        row.cells[at].append(b)
    return list(rows.values())


def _navigation(day: date, view: str) -> dict[str, Any]:
    step = timedelta(days=7 if view == "week" else 1)
    return {"prev": day - step, "next": day + step}


@router.get("/app/board")
async def board(
    request: Request,
    principal: Reader,
    day: Annotated[str | None, Query(max_length=10)] = None,
    view: Literal["day", "week"] = "day",
) -> Response:
    async with database(request).unit_of_work(principal.org_id) as s:
        ov = await org_view(s, request, principal.org_id)
        chosen = _parse_day(day, ov.today())
        first, last = _span(chosen, view)
        start, end = listing.local_span(first, last, ov.tz)
        bookings = await listing.starting_between(s, principal.org_id, start, end)
        names = await resource_names(s, principal.org_id)
    columns = _columns(ov, view, first, last, bookings)
    context = {
        "principal": principal,
        "view": ov,
        "mode": view,
        "day": chosen,
        "first": first,
        "last": last,
        "today": ov.today(),
        "columns": columns,
        "rows": _rows(ov, view, columns, names, bookings),
        "count": len(bookings),
        **_navigation(chosen, view),
    }
    return render(request, "console/board.html", context)
