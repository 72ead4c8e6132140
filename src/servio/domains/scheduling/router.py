"""``GET /v1/slots`` (public, ``?org=``), the staff's resource routes, and the planning
routes (suggested starts, schedule conflicts)."""

from __future__ import annotations

import uuid
from datetime import time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from servio.domains.identity import service as identity
from servio.domains.identity.deps import PublicOrg
from servio.domains.scheduling import availability, service
from servio.domains.scheduling.conflicts import find_conflicts
from servio.domains.scheduling.schemas import (
    BlackoutIn,
    ConflictOut,
    ConflictsOut,
    ResourceIn,
    ResourceOut,
    SlotOut,
    SlotsOut,
    SuggestionOut,
    SuggestionsOut,
)
from servio.domains.scheduling.suggestions import MAX_SUGGESTION_DAYS, SUGGESTION_DAYS, suggest
from servio.platform.dates import SaneDate
from servio.platform.http.auth import OrgSession, database, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["scheduling"], route_class=JsonRoute)
Manager = Annotated[Principal, Depends(require("settings:manage"))]
Reader = Annotated[Principal, Depends(require("bookings:read"))]


@router.get(
    "/v1/slots",
    summary="Free starts for a job of a given length, in local and UTC time",
    responses=problem_responses(404, 422),
)
async def slots(
    request: Request,
    orgs: PublicOrg,
    day: Annotated[SaneDate, Query(alias="date")],
    duration_minutes: Annotated[int, Query(ge=15, le=24 * 60)],
    days: Annotated[int, Query(ge=1, le=service.MAX_DAYS)] = 1,
    resource_id: uuid.UUID | None = None,
    org: Annotated[str | None, Query(max_length=63)] = None,
) -> SlotsOut:
    db = database(request)
    found = await orgs(org)
    async with db.reader(found.id) as s:
        free = await service.find_slots(
            s,
            found.id,
            first_day=day,
            days=days,
            duration=timedelta(minutes=duration_minutes),
            resource_id=resource_id,
        )
    return SlotsOut(
        timezone=found.timezone,
        duration_minutes=duration_minutes,
        slots=[SlotOut(**x.__dict__) for x in free],
    )


@router.post(
    "/v1/admin/resources",
    status_code=201,
    summary="Add a bookable resource (a team, an artist) with its weekly hours",
    responses=problem_responses(401, 403, 422),
)
async def add_resource(
    body: ResourceIn, principal: Manager, s: OrgSession, trail: Trail
) -> ResourceOut:
    hours: dict[int, list[tuple[time, time]]] = {}
    for h in body.hours:
        hours.setdefault(h.weekday, []).append((h.opens, h.closes))
    row = await service.add_resource(s, principal.org_id, body.name, body.kind, hours)
    await trail("resource.created", f"resource:{row.id}", after={"name": row.name})
    return ResourceOut.model_validate(row, from_attributes=True)


@router.get(
    "/v1/admin/resources", summary="Resources of my business", responses=problem_responses(401, 403)
)
async def list_resources(principal: Reader, s: OrgSession) -> list[ResourceOut]:
    rows = await service.list_resources(s, principal.org_id)
    return [ResourceOut.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/v1/admin/blackouts",
    status_code=201,
    summary="Block time for one resource or all of them",
    responses=problem_responses(401, 403, 404, 422),
)
async def add_blackout(
    body: BlackoutIn, principal: Manager, s: OrgSession, trail: Trail
) -> dict[str, str]:
    row = await availability.add_blackout(s, principal.org_id, **body.model_dump())
    await trail("blackout.created", f"blackout:{row.id}", after={"reason": body.reason})
    return {"id": str(row.id)}


@router.get(
    "/v1/admin/schedule/suggestions",
    summary="The best three starts for a job, each with the reasons it ranks there",
    description=(
        "Free starts from `date` over `days` days (those `GET /v1/slots` offers), scored: "
        "100, minus 3 per day after `date`; up to +20 near `preferred_time` (one point less "
        "per 15 minutes away); +25 right after one of the resource's jobs; +15 right "
        "before one; +15 for the resource with the lightest day; +10 for the earliest "
        "free start. Each resource and day gives its best start first, so the three are "
        "real alternatives. Ties go to the earlier start. `considered` counts the free "
        "starts weighed."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def schedule_suggestions(
    principal: Reader,
    s: OrgSession,
    day: Annotated[SaneDate, Query(alias="date", description="First local day searched")],
    duration_minutes: Annotated[int, Query(ge=15, le=24 * 60)],
    days: Annotated[int, Query(ge=1, le=MAX_SUGGESTION_DAYS)] = SUGGESTION_DAYS,
    resource_id: uuid.UUID | None = None,
    preferred_time: Annotated[
        str | None,
        Query(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local HH:MM"),
    ] = None,
) -> SuggestionsOut:
    org = await identity.get_org(s, principal.org_id)
    found, considered = await suggest(
        s,
        principal.org_id,
        first_day=day,
        duration=timedelta(minutes=duration_minutes),
        days=days,
        resource_id=resource_id,
        preferred=time.fromisoformat(preferred_time) if preferred_time else None,
    )
    return SuggestionsOut(
        timezone=org.timezone,
        considered=considered,
        suggestions=[
            SuggestionOut(
                start=x.slot.start,
                end=x.slot.end,
                local_start=x.slot.local_start,
                local_end=x.slot.local_end,
                resource_id=x.slot.resource_id,
                resource_name=x.slot.resource_name,
                score=x.score,
                reasons=list(x.reasons),
            )
            for x in found
        ],
    )


@router.get(
    "/v1/admin/schedule/conflicts",
    summary="Problems in the schedule: overlaps, blackouts, work outside hours",
    description=(
        "Problems starting on the local days `from` (default today) to `to` (default "
        "`from` + 14), at most 62 days: `overlap` (two active reservations of one "
        "resource share time), `blackout` (a reservation, buffers included, meets a "
        "blackout, or its job falls on a closed day) and `outside_hours` (the job does "
        "not fit the resource's hours that day, read in its time zone)."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def schedule_conflicts(
    principal: Reader,
    s: OrgSession,
    first: Annotated[SaneDate | None, Query(alias="from", description="Local date; today")] = None,
    last: Annotated[SaneDate | None, Query(alias="to", description="Local date; from + 14")] = None,
    resource_id: uuid.UUID | None = None,
) -> ConflictsOut:
    org = await identity.get_org(s, principal.org_id)
    first_day, last_day, found = await find_conflicts(
        s, principal.org_id, first_day=first, last_day=last, resource_id=resource_id
    )
    return ConflictsOut(
        timezone=org.timezone,
        first=first_day,
        last=last_day,
        conflicts=[
            ConflictOut(
                kind=c.kind,
                resource_id=c.resource_id,
                resource_name=c.resource_name,
                reservation_ids=list(c.reservation_ids),
                booking_ids=list(c.booking_ids),
                blackout_id=c.blackout_id,
                start=c.start,
                end=c.end,
                local_start=c.local_start,
                local_end=c.local_end,
                detail=c.detail,
            )
            for c in found
        ],
    )
