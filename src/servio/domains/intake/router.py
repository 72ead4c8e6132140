"""``POST /v1/leads`` (public, ``?org=``) and the staff's lead routes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from servio.domains.catalog import service as catalog
from servio.domains.catalog.deps import Prices
from servio.domains.identity import service as identity
from servio.domains.identity.deps import PublicOrg
from servio.domains.intake import service
from servio.domains.intake.export import leads_csv
from servio.domains.intake.schemas import LeadIn, LeadOut, LeadPage, StatusIn
from servio.platform.captcha import verify_turnstile
from servio.platform.dates import SaneDateTime
from servio.platform.http.auth import OrgSession, database, require
from servio.platform.http.context import ClientInfo, Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.http.services import Deployment
from servio.platform.security.principal import Principal

router = APIRouter(tags=["leads"], route_class=JsonRoute)
Reader = Annotated[Principal, Depends(require("leads:read"))]
Writer = Annotated[Principal, Depends(require("leads:write"))]
OrgSlug = Annotated[str | None, Query(alias="org", max_length=63)]


def _region(settings: identity.OrgSettings, currency: str) -> str | None:
    return settings.phone_region or service.REGION_BY_CURRENCY.get(currency)


@router.post(
    "/v1/leads",
    status_code=201,
    summary="Leave a lead; the server prices the request itself",
    responses=problem_responses(400, 404, 422),
)
async def create_lead(
    body: LeadIn,
    request: Request,
    catalog_: Prices,
    client: ClientInfo,
    settings: Deployment,
    orgs: PublicOrg,
    org: OrgSlug = None,
) -> LeadOut:
    secret = settings.turnstile_secret.get_secret_value() if settings.turnstile_secret else None
    await verify_turnstile(
        secret=secret,
        verify_url=settings.turnstile_verify_url,
        token=body.captcha_token,
        remote_ip=client.ip,
    )
    db = database(request)
    found = await orgs(org)
    async with db.unit_of_work(found.id) as s:
        org_settings = await identity.settings_of(s, found.id)
        contact = service.normalize_contact(
            body.name, body.email, body.phone, _region(org_settings, found.currency)
        )
        estimate = None
        if body.inputs is not None:
            priced = await catalog.price_inputs(s, catalog_, found.id, body.inputs)
            estimate = priced.model_dump()
        lead = await service.create_lead(
            s,
            found.id,
            contact=contact,
            currency=found.currency,
            fields={
                "address": body.address.model_dump() if body.address else None,
                "inputs": body.inputs.model_dump(mode="json") if body.inputs else {},
                "notes": body.notes,
                "source": body.source,
                "utm": body.utm,
                "consent": body.consent,
            },
            estimate=estimate,
            referred_by=body.referred_by,
        )
        return LeadOut.model_validate(lead, from_attributes=True)


@router.get(
    "/v1/admin/leads",
    summary="Leads, newest first, filtered, searched and paged; ?format=csv exports",
    responses=problem_responses(400, 401, 403),
)
async def list_leads(
    principal: Reader,
    s: OrgSession,
    status: Annotated[str | None, Query(pattern=r"^(NEW|CONTACTED|QUOTED|BOOKED|LOST)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    format: Literal["json", "csv"] = "json",
    source: Annotated[str | None, Query(max_length=60)] = None,
    created_from: SaneDateTime | None = None,
    created_before: SaneDateTime | None = None,
) -> Any:
    found = service.search(service.readable(principal.org_id), q, status)
    found = service.narrowed(found, source, created_from, created_before)
    page = await service.lead_page(s, found, cursor, limit)
    if format == "csv":
        return Response(
            leads_csv(page.items),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
        )
    return LeadPage(
        items=[LeadOut.model_validate(r, from_attributes=True) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/v1/admin/leads/{lead_id}", summary="One lead", responses=problem_responses(401, 403, 404)
)
async def get_lead(lead_id: uuid.UUID, principal: Reader, s: OrgSession) -> LeadOut:
    return LeadOut.model_validate(
        await service.get_lead(s, principal.org_id, lead_id), from_attributes=True
    )


@router.post(
    "/v1/admin/leads/{lead_id}/status",
    summary="Move a lead: NEW → CONTACTED → QUOTED → BOOKED, or LOST",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_status(
    lead_id: uuid.UUID, body: StatusIn, principal: Writer, s: OrgSession, trail: Trail
) -> LeadOut:
    lead, old = await service.move(s, principal.org_id, lead_id, body.status)
    await trail(
        "lead.status", f"lead:{lead_id}", before={"status": old}, after={"status": body.status}
    )
    return LeadOut.model_validate(lead, from_attributes=True)
