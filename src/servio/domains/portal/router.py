"""``/v1/client/portal/*``: a signed-in customer's own bookings in one business, by the
``client_session`` cookie or ``Authorization: Bearer <session token>``."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from servio.domains.bookings import service as bookings
from servio.domains.identity import service as identity
from servio.domains.portal import service, signin
from servio.domains.portal.deps import (
    Client,
    clear_client_cookies,
    limit_sign_in_requests,
    portal_config,
)
from servio.domains.portal.schemas import (
    ClientBookingOut,
    ClientBookingsOut,
    FreeStartsOut,
    LinkRequestIn,
    LinkRequestOut,
    MoveIn,
    PolicyOut,
    SessionIn,
    SessionOut,
)
from servio.platform.dates import SaneDate
from servio.platform.db import utcnow
from servio.platform.http.auth import database
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute

router = APIRouter(prefix="/v1/client/portal", tags=["client portal"], route_class=JsonRoute)


def booking_out(b: bookings.Booking, cutoff: int, now: datetime) -> ClientBookingOut:
    policy = service.policy_for(b, cutoff, now)
    return ClientBookingOut(
        id=b.id,
        status=b.status,
        start=b.starts_at,
        end=b.ends_at,
        name=b.name,
        subtotal_cents=b.subtotal_cents,
        currency=b.currency,
        deposit_required=b.deposit_required,
        deposit_cents=b.deposit_cents,
        refund_cents=b.refund_cents,
        cancel_reason=b.cancel_reason,
        policy=PolicyOut(
            can_change=policy.allowed,
            reason=policy.reason,
            cutoff_hours=policy.cutoff_hours,
            change_deadline=policy.deadline,
        ),
    )


NEUTRAL = "If this business knows that address, a sign-in link is on its way."


@router.post(
    "/login/request",
    status_code=202,
    summary="Email a sign-in link (the same answer whether or not the address is known)",
    responses=problem_responses(422, 429),
)
async def request_link(body: LinkRequestIn, request: Request) -> LinkRequestOut:
    await limit_sign_in_requests(request, body.org, body.email)
    await signin.request_link(
        database(request),
        portal_config(request),
        org_slug=body.org,
        email=body.email,
        ip=request.client.host if request.client else None,
    )
    return LinkRequestOut(detail=NEUTRAL)


@router.post(
    "/session",
    summary="Trade an emailed link's token for a session token (once)",
    responses=problem_responses(400, 410),
)
async def start_session(body: SessionIn, request: Request) -> SessionOut:
    started = await signin.sign_in(database(request), portal_config(request), body.token)
    return SessionOut(access_token=started.token, expires_at=started.session.expires_at)


@router.post(
    "/logout", status_code=204, summary="End the session", responses=problem_responses(401)
)
async def logout(who: Client, request: Request) -> Response:
    await signin.sign_out(database(request), who)
    response = Response(status_code=204)
    clear_client_cookies(response)
    return response


@router.get(
    "/bookings",
    summary="The customer's upcoming and past bookings",
    responses=problem_responses(401, 429),
)
async def list_bookings(who: Client, request: Request) -> ClientBookingsOut:
    now = utcnow()
    async with database(request).unit_of_work(who.org_id) as s:
        found = await service.customer_bookings(s, who, now)
        cutoff = await service.cutoff_hours(s, who.org_id)
        org = await identity.get_org(s, who.org_id)
    return ClientBookingsOut(
        upcoming=[booking_out(b, cutoff, now) for b in found.upcoming],
        past=[booking_out(b, cutoff, now) for b in found.past],
        timezone=org.timezone,
    )


@router.get(
    "/bookings/{booking_id}",
    summary="One of the customer's bookings, with what may change online",
    responses=problem_responses(401, 404),
)
async def get_booking(booking_id: uuid.UUID, who: Client, request: Request) -> ClientBookingOut:
    async with database(request).unit_of_work(who.org_id) as s:
        b = await service.customer_booking(s, who, booking_id)
        return booking_out(b, await service.cutoff_hours(s, who.org_id), utcnow())


@router.post(
    "/bookings/{booking_id}/cancel",
    summary="Cancel before the business's cut-off (a paid deposit is refunded)",
    responses=problem_responses(401, 403, 404, 409),
)
async def cancel_booking(booking_id: uuid.UUID, who: Client, request: Request) -> ClientBookingOut:
    async with database(request).unit_of_work(who.org_id) as s:
        b = await service.cancel(s, who, booking_id)
        return booking_out(b, await service.cutoff_hours(s, who.org_id), utcnow())


@router.post(
    "/bookings/{booking_id}/reschedule",
    summary="Move to another free start, before the business's cut-off",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reschedule_booking(
    booking_id: uuid.UUID, body: MoveIn, who: Client, request: Request
) -> ClientBookingOut:
    async with database(request).unit_of_work(who.org_id) as s:
        b = await service.reschedule(s, who, booking_id, body.start)
        return booking_out(b, await service.cutoff_hours(s, who.org_id), utcnow())


@router.get(
    "/bookings/{booking_id}/slots",
    summary="Free starts the booking could move to on a day",
    responses=problem_responses(401, 404, 422),
)
async def free_starts(
    booking_id: uuid.UUID,
    who: Client,
    request: Request,
    day: Annotated[SaneDate, Query(alias="date")],
) -> FreeStartsOut:
    async with database(request).unit_of_work(who.org_id) as s:
        starts = await service.free_starts(s, who, booking_id, day)
        org = await identity.get_org(s, who.org_id)
    return FreeStartsOut(starts=starts, timezone=org.timezone)


@router.get(
    "/export",
    summary="Download everything the business holds about the customer (JSON)",
    responses=problem_responses(401, 429),
)
async def export(who: Client, request: Request) -> Response:
    async with database(request).unit_of_work(who.org_id) as s:
        data: dict[str, Any] = await service.export(s, who)
    name = f"my-data-{data['business']['slug']}.json"
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
