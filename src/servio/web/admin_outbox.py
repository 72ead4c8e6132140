"""Operators' view of the outbox: dead letters and the dead-letter queue by kind, replay
or discard of one message, and a bulk retry. Every route is scoped to the caller's org."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from servio.domains.identity.deps import Trail
from servio.platform.dates import SaneDateTime
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.outbox import admin
from servio.platform.outbox.models import OutboxMessage
from servio.platform.security.principal import Principal

router = APIRouter(tags=["admin"], route_class=JsonRoute)
Operator = Annotated[Principal, Depends(require("admin:operate"))]


class OutboxMessageOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    dedupe_key: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    history: list[dict[str, Any]]
    payload: Any
    created_at: datetime
    updated_at: datetime


class DeadLetterPage(BaseModel):
    items: list[OutboxMessageOut]
    next_cursor: str | None


class DlqSummary(DeadLetterPage):
    counts_by_kind: dict[str, int]


class RetryOut(BaseModel):
    outbox_retry: dict[str, int]


def _out(row: OutboxMessage) -> OutboxMessageOut:
    return OutboxMessageOut.model_validate(row, from_attributes=True)


async def _page(
    s: OrgSession,
    principal: Principal,
    kind: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> DeadLetterPage:
    page = await admin.dead_letters(
        s, principal.org_id, kind=kind, since=since, cursor=cursor, limit=limit
    )
    return DeadLetterPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


Kind = Annotated[str | None, Query(max_length=80)]
Cursor = Annotated[str | None, Query(max_length=300)]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get(
    "/v1/admin/outbox/dead-letter",
    summary="Dead-lettered messages, newest first",
    responses=problem_responses(400, 401, 403),
)
async def dead_letter(
    principal: Operator,
    s: OrgSession,
    kind: Kind = None,
    since: SaneDateTime | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeadLetterPage:
    return await _page(s, principal, kind, since, cursor, limit)


@router.get(
    "/v1/admin/queue/dlq",
    summary="The dead-letter queue with counts per kind",
    responses=problem_responses(400, 401, 403),
)
async def dlq(
    principal: Operator, s: OrgSession, cursor: Cursor = None, limit: Limit = 50
) -> DlqSummary:
    page = await _page(s, principal, None, None, cursor, limit)
    counts = await admin.counts_by_kind(s, principal.org_id)
    return DlqSummary(items=page.items, next_cursor=page.next_cursor, counts_by_kind=counts)


@router.post(
    "/v1/admin/outbox/{message_id}/replay",
    summary="Send a dead message again (its history is kept)",
    responses=problem_responses(401, 403, 404, 409),
)
async def replay(
    message_id: uuid.UUID, principal: Operator, s: OrgSession, trail: Trail
) -> OutboxMessageOut:
    row = await admin.replay(s, principal.org_id, message_id, actor=principal.actor)
    await trail("outbox.replayed", f"outbox:{message_id}", after={"kind": row.kind})
    return _out(row)


@router.post(
    "/v1/admin/outbox/{message_id}/discard",
    summary="Give up on a dead message for good",
    responses=problem_responses(401, 403, 404, 409),
)
async def discard(
    message_id: uuid.UUID, principal: Operator, s: OrgSession, trail: Trail
) -> OutboxMessageOut:
    row = await admin.discard(s, principal.org_id, message_id, actor=principal.actor)
    await trail("outbox.discarded", f"outbox:{message_id}", after={"kind": row.kind})
    return _out(row)


@router.post(
    "/admin/outbox/retry",
    summary="Replay up to `limit` dead messages, oldest first",
    responses=problem_responses(401, 403),
)
async def retry(
    principal: Operator,
    s: OrgSession,
    trail: Trail,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
) -> RetryOut:
    result = await admin.retry_dead(s, principal.org_id, limit=limit, actor=principal.actor)
    await trail("outbox.retried", f"org:{principal.org_id}", after=result)
    return RetryOut(outbox_retry=result)
