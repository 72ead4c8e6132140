"""``/v1/admin/panic`` (pause every automated reply of the org) and
``/v1/admin/retention`` (how long transcripts and stale leads are kept, and the cleanup
that prunes them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from servio.domains.conversations import panic, retention
from servio.domains.conversations.schemas import (
    CleanupOut,
    PanicIn,
    PanicOut,
    RetentionIn,
    RetentionOut,
)
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=JsonRoute)
# The switch must work while the org is read-only: it is what one reaches for in trouble.
PanicManager = Annotated[Principal, Depends(require("settings:manage", allow_read_only=True))]
Manager = Annotated[Principal, Depends(require("settings:manage"))]


@router.get(
    "/panic", summary="Whether automated replies are paused", responses=problem_responses(401, 403)
)
async def get_panic(principal: PanicManager, s: OrgSession) -> PanicOut:
    return PanicOut.of(await panic.state(s, principal.org_id))


@router.put(
    "/panic",
    summary="Pause (or resume) every automated reply; staff are emailed when it goes on",
    responses=problem_responses(401, 403, 422),
)
async def put_panic(
    body: PanicIn, principal: PanicManager, s: OrgSession, trail: Trail
) -> PanicOut:
    before = await panic.state(s, principal.org_id)
    after = await panic.switch(
        s, principal.org_id, on=body.on, reason=body.reason, by=principal.actor
    )
    await trail(
        "conversations.panic.switched",
        f"org:{principal.org_id}",
        before={"on": before.on, "reason": before.reason},
        after={"on": after.on, "reason": after.reason},
    )
    return PanicOut.of(after)


@router.get(
    "/retention",
    summary="How long transcripts and stale leads are kept",
    responses=problem_responses(401, 403, 422),
)
async def get_retention(principal: Manager, s: OrgSession) -> RetentionOut:
    return RetentionOut(**(await retention.retention(s, principal.org_id)).as_json())


@router.put(
    "/retention",
    summary="Set how long transcripts and stale leads are kept (days)",
    responses=problem_responses(401, 403, 422),
)
async def put_retention(
    body: RetentionIn, principal: Manager, s: OrgSession, trail: Trail
) -> RetentionOut:
    wanted = retention.Retention(body.transcript_days, body.stale_lead_days)
    kept = await retention.set_retention(s, principal.org_id, wanted)
    await trail("retention.configured", f"org:{principal.org_id}", after=kept.as_json())
    return RetentionOut(**kept.as_json())


@router.post(
    "/retention/cleanup",
    summary="Delete transcripts and stale leads older than the org's retention",
    responses=problem_responses(401, 403, 422),
)
async def retention_cleanup(principal: Manager, s: OrgSession, trail: Trail) -> CleanupOut:
    deleted, kept = await retention.cleanup(s, principal.org_id)
    await trail(
        "retention.cleaned",
        f"org:{principal.org_id}",
        after={"deleted": deleted, "retention": kept.as_json()},
    )
    return CleanupOut(deleted=deleted, retention=RetentionOut(**kept.as_json()))
