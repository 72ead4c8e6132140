"""``/v1/admin``: the org's safety switches and break-glass."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from servio.domains.identity import safety
from servio.domains.identity.deps import Config, Trail
from servio.domains.identity.models import Org
from servio.domains.identity.schemas import (
    AuditEventOut,
    AuditPageOut,
    BreakGlassIn,
    BreakGlassOut,
    OrgSafetyIn,
    OrgSafetyOut,
)
from servio.platform.audit.listing import list_events
from servio.platform.dates import SaneDateTime
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=JsonRoute)
SettingsManager = Annotated[Principal, Depends(require("settings:manage", allow_read_only=True))]
AuditReader = Annotated[Principal, Depends(require("audit:read"))]
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
async def set_safety(
    body: OrgSafetyIn, principal: SettingsManager, s: OrgSession, trail: Trail
) -> OrgSafetyOut:
    org = await s.get(Org, principal.org_id, with_for_update=True)
    assert org is not None
    before = OrgSafetyOut(read_only=org.read_only, require_mfa=org.require_mfa)
    if body.read_only is not None:
        org.read_only = body.read_only
    if body.require_mfa is not None:
        org.require_mfa = body.require_mfa
    after = OrgSafetyOut(read_only=org.read_only, require_mfa=org.require_mfa)
    await trail(
        "org.safety.changed", f"org:{org.id}", before=before.model_dump(), after=after.model_dump()
    )
    return after


@router.post(
    "/break-glass/start",
    status_code=201,
    summary="A time-limited token that may write while the org is read-only",
    responses=problem_responses(401, 403, 422),
)
async def start_break_glass(
    body: BreakGlassIn, principal: BreakGlassUser, s: OrgSession, config: Config, trail: Trail
) -> BreakGlassOut:
    grant = await safety.start_break_glass(
        s, config, principal, reason=body.reason, ttl_minutes=body.ttl_minutes
    )
    await trail(
        "break_glass.started",
        f"break_glass:{grant.row.id}",
        after={"reason": body.reason, "expires_at": grant.row.expires_at.isoformat()},
    )
    return BreakGlassOut(id=grant.row.id, token=grant.token, expires_at=grant.row.expires_at)


@router.get(
    "/audit",
    summary="The org's audit log, newest first, with filters and cursor pagination",
    responses=problem_responses(400, 401, 403, 422),
)
async def audit_log(
    principal: AuditReader,
    s: OrgSession,
    action: Annotated[str | None, Query(max_length=80, description="exact, or a prefix.*")] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    target: Annotated[str | None, Query(max_length=255)] = None,
    since: SaneDateTime | None = None,
    until: SaneDateTime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    page = await list_events(
        s,
        org_id=principal.org_id,
        action=action,
        actor=actor,
        target=target,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AuditPageOut(
        items=[AuditEventOut.model_validate(e, from_attributes=True) for e in page.items],
        next_cursor=page.next_cursor,
    )
