"""Operator paths under ``/admin``, for an ``X-Admin-API-Key`` or any admin principal:
the org's leads, its lead funnel, and retention of inbound provider events.

Retention is per org: an API key belongs to one org, so it deletes that org's processed
events only. Events never matched to an org (a malformed delivery, say) are the
deployment's and go with the scheduled inbox retention job
(``SERVIO_INBOX_RETENTION_DAYS``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from servio.domains.intake import reports
from servio.domains.intake.schemas import FunnelOut, LeadsOut, RetentionOut
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.inbox import prune_processed_for_org
from servio.platform.security.principal import Principal

router = APIRouter(tags=["admin"], route_class=JsonRoute)
Operator = Annotated[Principal, Depends(require("admin:operate"))]
Reader = Annotated[Principal, Depends(require("leads:read"))]


@router.post(
    "/admin/events/retention-cleanup",
    summary="Delete the org's inbound events processed more than retention_days ago",
    responses=problem_responses(401, 403, 422),
)
async def retention_cleanup(
    principal: Operator,
    s: OrgSession,
    trail: Trail,
    retention_days: Annotated[int, Query(ge=1, le=3650)] = 90,
) -> RetentionOut:
    deleted = await prune_processed_for_org(
        s, principal.org_id, older_than=timedelta(days=retention_days)
    )
    await trail(
        "events.retention_cleanup",
        f"org:{principal.org_id}",
        after={"deleted": deleted, "retention_days": retention_days},
    )
    return RetentionOut(deleted=deleted, retention_days=retention_days)


@router.get(
    "/admin/leads",
    summary="The org's leads, newest first",
    responses=problem_responses(401, 403, 422),
)
async def leads(
    principal: Reader, s: OrgSession, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> LeadsOut:
    return await reports.newest_leads(s, principal.org_id, limit)


@router.get(
    "/admin/funnel",
    summary="How many leads of the last `days` days stand in each status",
    responses=problem_responses(401, 403, 422),
)
async def funnel(
    principal: Reader, s: OrgSession, days: Annotated[int, Query(ge=1, le=365)] = 7
) -> FunnelOut:
    return await reports.lead_funnel(s, principal.org_id, days)
