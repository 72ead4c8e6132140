"""``POST /v1/admin/action-links``: staff make a link to send (to themselves or a
colleague) that performs one action once."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from servio.domains.actions import service
from servio.domains.actions.schemas import ActionLinkIn, ActionLinkOut
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.http.services import deployment
from servio.platform.security.principal import Principal

router = APIRouter(tags=["actions"], route_class=JsonRoute)
Writer = Annotated[Principal, Depends(require("bookings:write"))]


@router.post(
    "/v1/admin/action-links",
    status_code=201,
    summary="Make a signed, single-use, expiring action link (/a/{token})",
    responses=problem_responses(401, 403, 404, 422),
)
async def create_action_link(
    body: ActionLinkIn, principal: Writer, s: OrgSession, request: Request
) -> ActionLinkOut:
    issued = await service.issue(
        s,
        principal.org_id,
        body.kind,
        body.subject_id,
        timedelta(minutes=body.ttl_minutes),
        principal.actor,
        settings=deployment(request),
    )
    return ActionLinkOut(url=issued.url, expires_at=issued.expires_at)
