"""``/app/dead-letter`` (the outbox's dead letters: replay or discard each) and
``/app/jobs`` (each scheduled job's last and next run and failures), through the same
services as ``/v1/admin/outbox/dead-letter`` and ``/v1/admin/jobs/status``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from servio.domains.identity.service import get_org
from servio.domains.identity.trail import trail
from servio.platform.db import utcnow
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.jobs import job_statuses
from servio.platform.outbox import admin
from servio.platform.security.principal import Principal
from servio.web.deps import get_container
from servio.web.pages.console_auth import console_member
from servio.web.pages.rendering import reader_locale, render

router = APIRouter(include_in_schema=False)
Operator = Annotated[Principal, Depends(console_member("admin:operate"))]
PAGE_SIZE = 50


async def _dead_letters(
    request: Request, principal: Principal, kind: str | None, cursor: str | None
) -> dict[str, Any]:
    async with database(request).unit_of_work(principal.org_id) as s:
        org = await get_org(s, principal.org_id)
        try:
            page = await admin.dead_letters(
                s, principal.org_id, kind=kind, since=None, cursor=cursor, limit=PAGE_SIZE
            )
        except DomainError:  # a cursor from elsewhere: start from the newest
            page = await admin.dead_letters(
                s, principal.org_id, kind=kind, since=None, cursor=None, limit=PAGE_SIZE
            )
        counts = await admin.counts_by_kind(s, principal.org_id)
    return {
        "principal": principal,
        "messages": page.items,
        "next_cursor": page.next_cursor,
        "counts": counts,
        "kind": kind,
        "timezone": org.timezone,
        "locale": reader_locale(request),
    }


@router.get("/app/dead-letter")
async def dead_letter_page(
    request: Request,
    principal: Operator,
    kind: Annotated[str | None, Query(max_length=80)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    context = await _dead_letters(request, principal, kind or None, cursor)
    return render(request, "console/dead_letter.html", context)


async def _settle(
    request: Request, principal: Principal, message_id: uuid.UUID, how: str
) -> Response:
    """Replay or discard one dead message; its row comes back saying what happened."""
    error, row = None, None
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            act = admin.replay if how == "replay" else admin.discard
            row = await act(s, principal.org_id, message_id, actor=principal.actor)
            await trail(
                s,
                principal,
                "outbox.replayed" if how == "replay" else "outbox.discarded",
                f"outbox:{message_id}",
                ip=request.client.host if request.client else None,
                after={"kind": row.kind},
            )
    except DomainError as refused:
        error = refused.detail
    async with database(request).unit_of_work(principal.org_id) as s:
        org = await get_org(s, principal.org_id)
    context = {
        "message_id": message_id,
        "row": row,
        "how": how,
        "error": error,
        "timezone": org.timezone,
        "locale": reader_locale(request),
    }
    status = 409 if error else 200
    return render(request, "console/dead_letter_done.html", context, status_code=status)


@router.post("/app/dead-letter/{message_id}/replay")
async def replay(request: Request, principal: Operator, message_id: uuid.UUID) -> Response:
    return await _settle(request, principal, message_id, "replay")


@router.post("/app/dead-letter/{message_id}/discard")
async def discard(request: Request, principal: Operator, message_id: uuid.UUID) -> Response:
    return await _settle(request, principal, message_id, "discard")


@router.get("/app/jobs")
async def jobs_page(request: Request, principal: Operator) -> Response:
    container = get_container(request)
    jobs = await job_statuses(container.db, container.jobs, now=utcnow())
    async with database(request).unit_of_work(principal.org_id) as s:
        org = await get_org(s, principal.org_id)
    context = {
        "principal": principal,
        "jobs": jobs,
        "timezone": org.timezone,
        "locale": reader_locale(request),
    }
    return render(request, "console/jobs.html", context)
