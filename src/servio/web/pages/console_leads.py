"""``/app/leads``: the business's leads, filtered by status, source, creation dates and
text; each lead's status moves along the intake rules (a move they forbid answers 409
with the reason beside the lead), and each lead has a detail page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from servio.domains.identity import service as identity
from servio.domains.identity.trail import trail
from servio.domains.intake import service as intake
from servio.platform.dates import parse_sane_date
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.security.principal import Principal
from servio.web.pages.console_auth import console_member
from servio.web.pages.rendering import reader_locale, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(console_member("leads:read"))]
Writer = Annotated[Principal, Depends(console_member("leads:write"))]
STATUSES = tuple(intake.TRANSITIONS)
PAGE_SIZE = 50


@dataclass(frozen=True)
class LeadFilters:
    status: str | None
    source: str | None
    q: str | None
    created_from: date | None
    created_to: date | None

    def query(self) -> dict[str, str]:
        pairs = {
            "status": self.status,
            "source": self.source,
            "q": self.q,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
        }
        return {k: v for k, v in pairs.items() if v}


def _day_start(day: date | None, zone: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=zone) if day else None


def _filters(
    status: Annotated[str | None, Query(max_length=12)] = None,
    source: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    created_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    created_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> LeadFilters:
    def day(value: str | None) -> date | None:
        try:
            return parse_sane_date(value) if value else None
        except ValueError:
            return None

    return LeadFilters(
        status=status if status in STATUSES else None,
        source=source or None,
        q=(q or "").strip() or None,
        created_from=day(created_from),
        created_to=day(created_to),
    )


Filters = Annotated[LeadFilters, Depends(_filters)]


async def _lead_list(
    request: Request, principal: Principal, filters: LeadFilters, cursor: str | None
) -> dict[str, Any]:
    async with database(request).unit_of_work(principal.org_id) as s:
        org = await identity.get_org(s, principal.org_id)
        zone = ZoneInfo(org.timezone)
        until = filters.created_to + timedelta(days=1) if filters.created_to else None
        stmt = intake.search(intake.readable(principal.org_id), filters.q, filters.status)
        stmt = intake.narrowed(
            stmt, filters.source, _day_start(filters.created_from, zone), _day_start(until, zone)
        )
        try:
            page = await intake.lead_page(s, stmt, cursor, PAGE_SIZE)
        except DomainError:  # a cursor from elsewhere: start again from the newest
            page = await intake.lead_page(s, stmt, None, PAGE_SIZE)
        sources = await intake.sources(s, principal.org_id)
    return {
        "principal": principal,
        "leads": page.items,
        "filters": filters,
        "sources": sources,
        "statuses": STATUSES,
        "transitions": intake.TRANSITIONS,
        "next_cursor": page.next_cursor,
        "timezone": org.timezone,
        "locale": reader_locale(request),
        "can_write": "leads:write" in principal.permissions,
        "errors": {},
    }


@router.get("/app/leads")
async def leads_page(
    request: Request,
    principal: Reader,
    filters: Filters,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    context = await _lead_list(request, principal, filters, cursor)
    partial = request.headers.get("hx-request") and request.headers.get("hx-target") == "leads"
    template = "console/leads_table.html" if partial else "console/leads.html"
    return render(request, template, context)


@router.get("/app/leads/{lead_id}")
async def lead_detail(request: Request, principal: Reader, lead_id: uuid.UUID) -> Response:
    async with database(request).unit_of_work(principal.org_id) as s:
        org = await identity.get_org(s, principal.org_id)
        lead = await intake.get_lead(s, principal.org_id, lead_id)
        address = intake.postal_address(lead)
    context = {
        "principal": principal,
        "lead": lead,
        "address": address,
        "timezone": org.timezone,
        "locale": reader_locale(request),
        "transitions": intake.TRANSITIONS,
        "can_write": "leads:write" in principal.permissions,
        "errors": {},
    }
    return render(request, "console/leads_detail.html", context)


@router.post("/app/leads/{lead_id}/status")
async def change_status(
    request: Request,
    principal: Writer,
    lead_id: uuid.UUID,
    status: Annotated[str, Form(max_length=12)] = "",
    view: Annotated[str, Form(max_length=10)] = "row",
) -> Response:
    """Move the lead; the row (or the detail's status box) comes back as it now is."""
    code, errors = 200, dict[str, str]()
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            _, old = await intake.move(s, principal.org_id, lead_id, status)
            await trail(
                s,
                principal,
                "lead.status",
                f"lead:{lead_id}",
                ip=request.client.host if request.client else None,
                before={"status": old},
                after={"status": status},
            )
    except DomainError as refused:
        code, errors = refused.status, {"status": refused.detail}
    async with database(request).unit_of_work(principal.org_id) as s:
        org = await identity.get_org(s, principal.org_id)
        lead = await intake.get_lead(s, principal.org_id, lead_id)
    context = {
        "principal": principal,
        "lead": lead,
        "timezone": org.timezone,
        "locale": reader_locale(request),
        "transitions": intake.TRANSITIONS,
        "can_write": True,
        "errors": errors,
        "tried": status,
        "changed": code == 200,
        "view": "detail" if view == "detail" else "row",
    }
    template = "console/leads_status.html" if view == "detail" else "console/leads_row.html"
    return render(request, template, context, status_code=code)
