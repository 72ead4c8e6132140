"""``/v1/admin``: where lead exports go, and the export dead letter (list, replay)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from servio.domains.webhooks import lead_export
from servio.domains.webhooks.deps import Config
from servio.domains.webhooks.schemas import (
    DeadLetterOut,
    DeadLetterPageOut,
    LeadExportIn,
    LeadExportOut,
    ReplayedOut,
)
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.outbox.models import OutboxMessage
from servio.platform.security.principal import Principal

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=JsonRoute)
Operator = Annotated[Principal, Depends(require("admin:operate"))]
SettingsManager = Annotated[Principal, Depends(require("settings:manage"))]


def _dead_out(row: OutboxMessage) -> DeadLetterOut:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return DeadLetterOut(
        id=row.id,
        kind=row.kind,
        lead_id=payload.get("lead_id"),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        failed_at=row.updated_at,
    )


@router.put(
    "/lead-export",
    summary="Send new leads, signed, to this CRM URL (the secret is made on first use)",
    responses=problem_responses(401, 403, 422),
)
async def configure_lead_export(
    body: LeadExportIn, principal: SettingsManager, s: OrgSession, config: Config, trail: Trail
) -> LeadExportOut:
    url, secret = await lead_export.configure_lead_export(s, principal.org_id, body.url, config)
    await trail("lead_export.configured", f"org:{principal.org_id}", after={"url": url})
    return LeadExportOut(url=url, secret=secret)


@router.get(
    "/export-dead-letter",
    summary="Lead exports that ran out of attempts, most recently failed first",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_export_dead_letter(
    principal: Operator,
    s: OrgSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeadLetterPageOut:
    page = await lead_export.dead_exports(s, principal.org_id, cursor=cursor, limit=limit)
    return DeadLetterPageOut(items=[_dead_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post(
    "/export-dead-letter/{message_id}/replay",
    status_code=202,
    summary="Send a dead lead export again with a fresh attempt budget",
    responses=problem_responses(401, 403, 404, 409),
)
async def replay_export(
    message_id: uuid.UUID, principal: Operator, s: OrgSession, trail: Trail
) -> ReplayedOut:
    row = await lead_export.replay_export(s, principal.org_id, message_id, principal.actor)
    await trail("outbox.replayed", f"outbox:{row.id}", after={"kind": row.kind})
    return ReplayedOut(id=row.id, status=row.status, next_attempt_at=row.next_attempt_at)
