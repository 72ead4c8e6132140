"""``GET /v1/slots`` (public, ``?org=``) and the staff's resource routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from servio.domains.identity import service as identity
from servio.domains.scheduling import service
from servio.domains.scheduling.models import Blackout
from servio.platform.http.auth import OrgSession, database, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["scheduling"], route_class=JsonRoute)
Manager = Annotated[Principal, Depends(require("settings:manage"))]
Reader = Annotated[Principal, Depends(require("bookings:read"))]


class SlotOut(BaseModel):
    resource_id: uuid.UUID
    resource_name: str
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime


class SlotsOut(BaseModel):
    timezone: str
    duration_minutes: int
    slots: list[SlotOut]


@router.get(
    "/v1/slots",
    summary="Free starts for a job of a given length, in local and UTC time",
    responses=problem_responses(404, 422),
)
async def slots(
    request: Request,
    day: Annotated[date, Query(alias="date")],
    duration_minutes: Annotated[int, Query(ge=15, le=24 * 60)],
    days: Annotated[int, Query(ge=1, le=service.MAX_DAYS)] = 1,
    resource_id: uuid.UUID | None = None,
    org: Annotated[str | None, Query(max_length=63)] = None,
) -> SlotsOut:
    db = database(request)
    found = await identity.resolve_public_org(
        db, org, request.app.state.container.settings.default_org
    )
    async with db.unit_of_work(found.id) as s:
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


class HoursIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: time
    closes: time


class ResourceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Team A",
                    "kind": "team",
                    "hours": [{"weekday": 0, "opens": "09:00", "closes": "18:00"}],
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(default="team", pattern=r"^(team|artist|room)$")
    hours: list[HoursIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _ordered(self) -> ResourceIn:
        if any(h.closes <= h.opens for h in self.hours):
            raise ValueError("each opening must close after it opens")
        return self


class ResourceOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    active: bool


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


class BlackoutIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "starts_at": "2026-12-24T00:00:00-07:00",
                    "ends_at": "2026-12-27T00:00:00-07:00",
                    "reason": "Holidays",
                }
            ]
        },
    )
    resource_id: uuid.UUID | None = None
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _span(self) -> BlackoutIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("times need a UTC offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


@router.post(
    "/v1/admin/blackouts",
    status_code=201,
    summary="Block time for one resource or all of them",
    responses=problem_responses(401, 403, 404, 422),
)
async def add_blackout(
    body: BlackoutIn, principal: Manager, s: OrgSession, trail: Trail
) -> dict[str, str]:
    if body.resource_id is not None:
        await service.list_resources(s, principal.org_id, body.resource_id)
    row = Blackout(org_id=principal.org_id, **body.model_dump())
    s.add(row)
    await s.flush()
    await trail("blackout.created", f"blackout:{row.id}", after={"reason": body.reason})
    return {"id": str(row.id)}
