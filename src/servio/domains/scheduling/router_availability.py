"""Staff routes for when resources can be booked: weekly hours and blackouts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from servio.domains.scheduling import availability
from servio.domains.scheduling.schemas import BlackoutOut, OpeningIn, WeekIn, WeekOut
from servio.platform.db import utcnow
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["scheduling"], route_class=JsonRoute)
Manager = Annotated[Principal, Depends(require("settings:manage"))]
Reader = Annotated[Principal, Depends(require("bookings:read"))]


def _week_out(resource_id: uuid.UUID, week: availability.Week) -> WeekOut:
    hours = [
        OpeningIn(weekday=day, opens=opens, closes=closes)
        for day, windows in sorted(week.items())
        for opens, closes in windows
    ]
    return WeekOut(resource_id=resource_id, hours=hours)


@router.get(
    "/v1/admin/hours",
    summary="Weekly hours of each resource",
    responses=problem_responses(401, 403),
)
async def list_hours(principal: Reader, s: OrgSession) -> list[WeekOut]:
    found = await availability.weekly_hours(s, principal.org_id)
    return [_week_out(resource_id, week) for resource_id, week in found.items()]


@router.put(
    "/v1/admin/resources/{resource_id}/hours",
    summary="Replace a resource's weekly hours",
    responses=problem_responses(401, 403, 404, 422),
)
async def set_hours(
    resource_id: uuid.UUID, body: WeekIn, principal: Manager, s: OrgSession, trail: Trail
) -> WeekOut:
    week: availability.Week = {}
    for h in body.hours:
        week.setdefault(h.weekday, []).append((h.opens, h.closes))
    saved = await availability.set_weekly_hours(s, principal.org_id, resource_id, week)
    out = _week_out(resource_id, saved)
    await trail("hours.changed", f"resource:{resource_id}", after=out.model_dump(mode="json"))
    return out


@router.get(
    "/v1/admin/blackouts",
    summary="Blackouts not over yet, by start",
    responses=problem_responses(401, 403),
)
async def list_blackouts(principal: Reader, s: OrgSession) -> list[BlackoutOut]:
    rows = await availability.list_blackouts(s, principal.org_id, ending_after=utcnow())
    return [BlackoutOut.model_validate(r, from_attributes=True) for r in rows]


@router.delete(
    "/v1/admin/blackouts/{blackout_id}",
    status_code=204,
    summary="Lift a blackout",
    responses=problem_responses(401, 403, 404),
)
async def remove_blackout(
    blackout_id: uuid.UUID, principal: Manager, s: OrgSession, trail: Trail
) -> Response:
    await availability.remove_blackout(s, principal.org_id, blackout_id)
    await trail("blackout.removed", f"blackout:{blackout_id}")
    return Response(status_code=204)
