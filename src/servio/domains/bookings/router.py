"""``POST /v1/bookings`` (public, ``?org=``) and the staff's booking operations."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from servio.domains.bookings import flows, listing, metrics, reminders, service
from servio.domains.bookings.deps import DepositFlow
from servio.domains.bookings.models import Booking
from servio.domains.bookings.schemas import (
    BookingIn,
    BookingOut,
    BookingPage,
    DepositOut,
    EmailScanOut,
    EventOut,
    MoveIn,
    RescheduleIn,
    ResentEmailOut,
)
from servio.domains.catalog.deps import Prices
from servio.domains.identity import service as identity
from servio.domains.identity.deps import PublicOrg
from servio.platform.dates import SaneDate
from servio.platform.errors import DomainError
from servio.platform.http.auth import OrgSession, database, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["bookings"], route_class=JsonRoute)
Reader = Annotated[Principal, Depends(require("bookings:read"))]
Writer = Annotated[Principal, Depends(require("bookings:write"))]


def _out(b: Booking, response: Response | None = None) -> BookingOut:
    if response is not None:
        response.headers["ETag"] = f'W/"{b.version}"'
    return BookingOut.model_validate(
        {
            **{k: getattr(b, k) for k in BookingOut.model_fields if hasattr(b, k)},
            "start": b.starts_at,
            "end": b.ends_at,
            "deposit": DepositOut(
                required=b.deposit_required,
                amount_cents=b.deposit_cents,
                reasons=list(b.deposit_reasons),
            ),
        }
    )


class BadIfMatch(DomainError):
    status = 400
    type = "bad-if-match"
    title = "If-Match must be the booking's ETag"


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise BadIfMatch('Send the ETag you received, e.g. W/"3".')
    return int(raw)


IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]


@router.post(
    "/v1/bookings",
    status_code=201,
    summary="Book a free slot; the server prices it and applies the deposit policy",
    responses=problem_responses(404, 409, 422, 502, 503),
)
async def create_booking(
    body: BookingIn,
    request: Request,
    response: Response,
    orgs: PublicOrg,
    prices: Prices,
    deposits: DepositFlow,
    org: Annotated[str | None, Query(max_length=63)] = None,
) -> BookingOut:
    db = database(request)
    found = await orgs(org)
    booked = await flows.book(
        db,
        prices,
        found.id,
        service.BookingRequest(
            name=body.name,
            email=body.email,
            phone=body.phone,
            start=body.start,
            inputs=body.inputs,
            duration_minutes=body.duration_minutes,
            resource_id=body.resource_id,
            lead_id=body.lead_id,
        ),
        deposits,
    )
    out = _out(booked.booking, response)
    out.checkout_url = booked.checkout_url
    return out


@router.get(
    "/v1/admin/bookings",
    summary="Bookings by day range and status, by start time, with cursor pagination",
    responses=problem_responses(400, 401, 403),
)
async def list_bookings(
    principal: Reader,
    s: OrgSession,
    since: Annotated[SaneDate | None, Query(alias="from")] = None,
    until: Annotated[SaneDate | None, Query(alias="to")] = None,
    status: Annotated[
        str | None, Query(pattern=r"^(PENDING|CONFIRMED|CANCELLED|COMPLETED|NO_SHOW|EXPIRED)$")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BookingPage:
    org = await identity.get_org(s, principal.org_id)
    page = await listing.page(
        s,
        principal.org_id,
        ZoneInfo(org.timezone),
        listing.BookingFilter(status=status, since=since, until=until, limit=limit),
        cursor,
    )
    return BookingPage(items=[_out(b) for b in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/admin/bookings/{booking_id}",
    summary="One booking (ETag = its version)",
    responses=problem_responses(401, 403, 404),
)
async def get_booking(
    booking_id: uuid.UUID, principal: Reader, s: OrgSession, response: Response
) -> BookingOut:
    return _out(await service.get(s, principal.org_id, booking_id), response)


def _move_route(move: Literal["confirm", "cancel", "complete", "no_show"], summary: str) -> None:
    async def move_booking(
        booking_id: uuid.UUID,
        principal: Writer,
        s: OrgSession,
        trail: Trail,
        response: Response,
        if_match: IfMatch = None,
        body: MoveIn | None = None,
    ) -> BookingOut:
        b = await service.apply(
            s,
            principal.org_id,
            booking_id,
            move,
            actor=principal.actor,
            if_match=_version(if_match),
            reason=body.reason if body else None,
            actual_minutes=body.actual_minutes if body else None,
            refund_deposit=body.refund_deposit if body else None,
        )
        await trail(f"booking.{move}", f"booking:{booking_id}", after={"status": b.status})
        return _out(b, response)

    router.add_api_route(
        f"/v1/admin/bookings/{{booking_id}}/{move.replace('_', '-')}",
        move_booking,
        methods=["POST"],
        summary=f"{summary} (If-Match: the booking's ETag)",
        name=f"booking_{move}",
        responses=problem_responses(400, 401, 403, 404, 409, 412, 422),
    )


_move_route("confirm", "Confirm a pending booking")
_move_route("cancel", "Cancel a booking, with a reason")
_move_route("complete", "Mark a booking done")
_move_route("no_show", "Mark that the customer was not there")


@router.post(
    "/v1/admin/bookings/{booking_id}/reschedule",
    summary="Move a booking to another free start, atomically (If-Match: the ETag)",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422),
)
async def reschedule_booking(
    booking_id: uuid.UUID,
    body: RescheduleIn,
    principal: Writer,
    s: OrgSession,
    trail: Trail,
    response: Response,
    if_match: IfMatch = None,
) -> BookingOut:
    b = await service.reschedule(
        s,
        principal.org_id,
        booking_id,
        body.start,
        actor=principal.actor,
        if_match=_version(if_match),
    )
    await trail(
        "booking.rescheduled", f"booking:{booking_id}", after={"start": b.starts_at.isoformat()}
    )
    return _out(b, response)


@router.get(
    "/v1/admin/timeline/booking/{booking_id}",
    summary="Everything that happened to a booking, oldest first",
    responses=problem_responses(401, 403, 404),
)
async def booking_timeline(
    booking_id: uuid.UUID, principal: Reader, s: OrgSession
) -> list[EventOut]:
    rows = await service.timeline(s, principal.org_id, booking_id)
    return [EventOut(at=e.created_at, kind=e.kind, actor=e.actor, detail=e.detail) for e in rows]


@router.post(
    "/v1/admin/cleanup",
    summary="Release unpaid holds that have expired",
    responses=problem_responses(401, 403),
)
async def cleanup(principal: Writer, s: OrgSession) -> dict[str, int]:
    return {"expired_holds": await service.expire_holds(s, principal.org_id)}


@router.post(
    "/v1/admin/email-scan",
    summary="Queue the reminders due now (what the scheduled scan does), for your org",
    responses=problem_responses(401, 403),
)
async def email_scan(principal: Writer, request: Request) -> dict[str, EmailScanOut]:
    async with database(request).unit_of_work(principal.org_id) as s:
        scan = await reminders.queue_reminders(s, principal.org_id)
    return {"email_scan": EmailScanOut(**asdict(scan))}


@router.post(
    "/v1/admin/bookings/{booking_id}/resend-last-email",
    status_code=202,
    summary="Send the booking's latest email again (queued; 409 when none was sent)",
    responses=problem_responses(401, 403, 404, 409),
)
async def resend_last_email(
    booking_id: uuid.UUID, principal: Writer, s: OrgSession, trail: Trail
) -> ResentEmailOut:
    message = await reminders.resend_last_email(
        s, principal.org_id, booking_id, actor=principal.actor
    )
    out = ResentEmailOut(
        outbox_id=message.id, template=message.payload["template"], to=message.payload["to"]
    )
    await trail("booking.email_resent", f"booking:{booking_id}", after={"template": out.template})
    return out


@router.get(
    "/v1/admin/metrics",
    summary="Leads, bookings, conversion, revenue, deposits, estimate accuracy; ?format=csv",
    responses=problem_responses(401, 403, 422),
)
async def admin_metrics(
    principal: Annotated[Principal, Depends(require("finance:read"))],
    s: OrgSession,
    since: Annotated[SaneDate, Query(alias="from")],
    until: Annotated[SaneDate, Query(alias="to")],
    format: Literal["json", "csv"] = "json",
) -> Any:
    if until < since:
        raise BadRange("`to` is before `from`.")
    org = await identity.get_org(s, principal.org_id)
    tz = ZoneInfo(org.timezone)
    start = datetime.combine(since, time(0), tzinfo=tz)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz)
    result = (await metrics.compute(s, principal.org_id, start, end, org.currency)).as_dict()
    if format == "csv":
        header = ",".join(result)
        values = ",".join("" if v is None else str(v) for v in result.values())
        return Response(f"{header}\n{values}\n", media_type="text/csv; charset=utf-8")
    return {"from": since.isoformat(), "to": until.isoformat(), **result}


class BadRange(DomainError):
    status = 422
    type = "bad-date-range"
    title = "The date range is empty"
