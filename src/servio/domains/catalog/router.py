"""``POST /v1/estimate`` (public, ``?org=``) and ``POST /v1/admin/pricing/reload``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from servio.domains.catalog import service
from servio.domains.catalog.deps import Prices
from servio.domains.catalog.estimator import CleaningRequest
from servio.domains.catalog.schemas import EstimateIn, EstimateOut, PricingVersionsOut
from servio.domains.identity.deps import PublicOrg
from servio.platform.http.auth import database, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["catalog"], route_class=JsonRoute)
OrgSlug = Annotated[str | None, Query(alias="org", max_length=63, description="business slug")]


@router.post(
    "/v1/estimate",
    summary="An instant price, computed by the server from the business's price list",
    responses=problem_responses(404, 422),
)
async def estimate(
    body: EstimateIn, request: Request, catalog: Prices, orgs: PublicOrg, org: OrgSlug = None
) -> EstimateOut:
    db = database(request)
    found = await orgs(org)
    async with db.unit_of_work(found.id) as s:
        result = await service.estimate_for_org(
            s,
            catalog,
            found.id,
            CleaningRequest(
                beds=body.beds,
                baths=body.baths,
                cleaning_type=body.cleaning_type,
                frequency=body.frequency,
                heavy_grease=body.heavy_grease,
                multi_floor=body.multi_floor,
                add_ons=body.add_ons,
            ),
            body.currency,
        )
    return EstimateOut.of(result)


@router.post(
    "/v1/admin/pricing/reload",
    summary="Validate the vertical files and swap them in (a bad file is refused, the old stays)",
    responses=problem_responses(401, 403, 422),
)
async def reload_pricing(
    _: Annotated[Principal, Depends(require("settings:manage"))], catalog: Prices
) -> PricingVersionsOut:
    return PricingVersionsOut(versions=catalog.reload())
