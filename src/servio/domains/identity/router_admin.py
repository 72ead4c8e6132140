"""``/v1/admin``: the org's safety switches and break-glass."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from servio.domains.identity import safety
from servio.domains.identity.http import Config
from servio.domains.identity.models import Org
from servio.domains.identity.schemas import BreakGlassIn, BreakGlassOut, OrgSafetyIn, OrgSafetyOut
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=JsonRoute)
SettingsManager = Annotated[Principal, Depends(require("settings:manage", allow_read_only=True))]
BreakGlassUser = Annotated[Principal, Depends(require("break_glass:use", allow_read_only=True))]


@router.get(
    "/org/safety",
    summary="Read-only mode and MFA requirement",
    responses=problem_responses(401, 403),
)
async def get_safety(principal: SettingsManager, s: OrgSession) -> OrgSafetyOut:
    org = await s.get(Org, principal.org_id)
    assert org is not None
    return OrgSafetyOut(read_only=org.read_only, require_mfa=org.require_mfa)


@router.patch(
    "/org/safety",
    summary="Turn read-only mode or the MFA requirement on or off",
    responses=problem_responses(401, 403, 422),
)
async def set_safety(body: OrgSafetyIn, principal: SettingsManager, s: OrgSession) -> OrgSafetyOut:
    org = await s.get(Org, principal.org_id, with_for_update=True)
    assert org is not None
    if body.read_only is not None:
        org.read_only = body.read_only
    if body.require_mfa is not None:
        org.require_mfa = body.require_mfa
    return OrgSafetyOut(read_only=org.read_only, require_mfa=org.require_mfa)


@router.post(
    "/break-glass/start",
    status_code=201,
    summary="A time-limited token that may write while the org is read-only",
    responses=problem_responses(401, 403, 422),
)
async def start_break_glass(
    body: BreakGlassIn, principal: BreakGlassUser, s: OrgSession, config: Config
) -> BreakGlassOut:
    grant = await safety.start_break_glass(
        s, config, principal, reason=body.reason, ttl_minutes=body.ttl_minutes
    )
    return BreakGlassOut(id=grant.row.id, token=grant.token, expires_at=grant.row.expires_at)
