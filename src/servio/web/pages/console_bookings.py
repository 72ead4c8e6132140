"""``/app/bookings``: the bookings list (status, day range, the customer's name or email)
and one booking's page: customer, time, team, deposit and payments, its timeline, and
the staff's moves through htmx forms (confirm, cancel, reschedule to a free slot, resend
the last email). Each move calls the bookings service as the admin API does; a refusal
(409 an illegal move or a taken slot, 412 a stale page, 422 bad input) re-renders the
panel with the error beside its field and what was typed kept."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import listing, reminders, service
from servio.domains.bookings.models import STATUSES
from servio.domains.identity import service as identity
from servio.domains.payments import service as payments
from servio.domains.scheduling import service as scheduling
from servio.platform.dates import parse_sane_date, parse_sane_datetime
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.http.context import AuditTrail, ClientInfo
from servio.platform.security.principal import Principal
from servio.web.pages.console_auth import console_member
from servio.web.pages.console_home import OrgView, org_view, resource_names
from servio.web.pages.errors import error_page
from servio.web.pages.rendering import local_datetime, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(console_member("bookings:read"))]
Writer = Annotated[Principal, Depends(console_member("bookings:write"))]
REFUND_CHOICES = {"policy": None, "refund": True, "keep": False}


def _day(raw: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return parse_sane_date(raw)
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None


@router.get("/app/bookings")
async def bookings_list(
    request: Request,
    principal: Reader,
    status: Annotated[str, Query(max_length=12)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    errors: dict[str, str] = {}
    wanted = listing.BookingFilter(
        status=status if status in STATUSES else None,
        since=_day(since, "from", errors),
        until=_day(until, "to", errors),
        search=q,
        limit=200,
    )
    if wanted.since and wanted.until and wanted.until < wanted.since:
        errors["to"] = "The end is before the start."
    async with database(request).unit_of_work(principal.org_id) as s:
        ov = await org_view(s, request, principal.org_id)
        found = [] if errors else await listing.search(s, principal.org_id, ov.tz, wanted)
        names = await resource_names(s, principal.org_id)
    context = {
        "principal": principal,
        "view": ov,
        "bookings": found,
        "resources": names,
        "statuses": STATUSES,
        "filters": {"status": status, "from": since, "to": until, "q": q},
        "errors": errors,
        "limit": wanted.limit,
    }
    return render(request, "console/bookings.html", context, status_code=422 if errors else 200)


def _shown(value: Any, view: OrgView) -> str:
    """A timeline detail as people read it: instants in the business's zone."""
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is None:
            return value
        return local_datetime(instant, view.tz, view.locale)
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value)
    return str(value)


def _timeline(events: list[Any], view: OrgView, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "at": e.created_at,
            "kind": e.kind,
            "actor": names.get(e.actor, e.actor),
            "detail": [
                (key.replace("_", " "), _shown(value, view))
                for key, value in sorted(e.detail.items())
                if value not in (None, "", [])
            ],
        }
        for e in events
    ]


async def _panel_context(
    s: AsyncSession, request: Request, principal: Principal, booking_id: uuid.UUID
) -> dict[str, Any]:
    """Everything the booking's panel shows (404 ``booking-not-found`` when not the org's)."""
    booking = await service.get(s, principal.org_id, booking_id)
    view = await org_view(s, request, principal.org_id)
    events = await service.timeline(s, principal.org_id, booking_id)
    names = await identity.actor_names(s, principal.org_id, [e.actor for e in events])
    return {
        "principal": principal,
        "view": view,
        "b": booking,
        "resources": await resource_names(s, principal.org_id),
        "timeline": _timeline(events, view, names),
        "payments": await payments.booking_payments(s, principal.org_id, booking_id),
        "moves": {move for move, allowed in service.MOVES.items() if booking.status in allowed},
        "can_write": "bookings:write" in principal.permissions,
        "errors": {},
        "typed": {},
        "notice": None,
    }


async def _render_panel(
    request: Request,
    principal: Principal,
    booking_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The booking's page, or only its panel for an htmx request."""
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            context = await _panel_context(s, request, principal, booking_id)
    except service.BookingNotFound:
        return error_page(request, 404, "No such booking in this business.")
    context |= extra
    partial = bool(request.headers.get("hx-request"))
    template = "console/booking_panel.html" if partial else "console/booking.html"
    return render(request, template, context, status_code=status)


@router.get("/app/bookings/{booking_id}")
async def booking_detail(request: Request, principal: Reader, booking_id: uuid.UUID) -> Response:
    return await _render_panel(request, principal, booking_id)


def _refusal(action: str, err: DomainError) -> tuple[int, dict[str, str]]:
    """Where the page shows a refusal: beside the field it names, else on the action.
    A stale page (412) is answered 409 so that htmx swaps the panel in."""
    field = str(err.extra.get("field") or "")
    key = f"{action}.{field}" if field else action
    status = 409 if err.status == 412 else err.status
    message = err.detail
    if err.status == 412:
        message = "Someone changed this booking meanwhile; it is shown as it is now. Try again."
    return status, {key: message}


async def _act(
    request: Request,
    principal: Principal,
    client: ClientInfo,
    booking_id: uuid.UUID,
    action: str,
    do: Any,
    typed: dict[str, Any] | None = None,
) -> Response:
    """Run ``do(s, trail)`` in one unit of work; re-render the panel with its outcome."""
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            trail = AuditTrail(s=s, principal=principal, ip=client.ip)
            notice = await do(s, trail)
    except service.BookingNotFound:
        return error_page(request, 404, "No such booking in this business.")
    except DomainError as err:
        status, errors = _refusal(action, err)
        return await _render_panel(
            request, principal, booking_id, status=status, errors=errors, typed=typed or {}
        )
    return await _render_panel(request, principal, booking_id, notice=notice)


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


@router.post("/app/bookings/{booking_id}/confirm")
async def confirm(
    request: Request,
    principal: Writer,
    client: ClientInfo,
    booking_id: uuid.UUID,
    version: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    async def do(s: AsyncSession, trail: AuditTrail) -> str:
        b = await service.apply(
            s,
            principal.org_id,
            booking_id,
            "confirm",
            actor=principal.actor,
            if_match=_version(version),
        )
        await trail("booking.confirm", f"booking:{booking_id}", after={"status": b.status})
        return "Booking confirmed; the customer is emailed."

    return await _act(request, principal, client, booking_id, "confirm", do)


@router.post("/app/bookings/{booking_id}/cancel")
async def cancel(
    request: Request,
    principal: Writer,
    client: ClientInfo,
    booking_id: uuid.UUID,
    version: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    refund: Annotated[str, Form(max_length=10)] = "policy",
) -> Response:
    async def do(s: AsyncSession, trail: AuditTrail) -> str:
        b = await service.apply(
            s,
            principal.org_id,
            booking_id,
            "cancel",
            actor=principal.actor,
            if_match=_version(version),
            reason=reason.strip() or None,
            refund_deposit=REFUND_CHOICES.get(refund),
        )
        await trail("booking.cancel", f"booking:{booking_id}", after={"status": b.status})
        return "Booking cancelled; the customer is emailed."

    typed = {"reason": reason, "refund": refund}
    return await _act(request, principal, client, booking_id, "cancel", do, typed)


@router.get("/app/bookings/{booking_id}/slots")
async def free_slots(
    request: Request,
    principal: Writer,
    booking_id: uuid.UUID,
    day: Annotated[str, Query(alias="date", max_length=10)] = "",
) -> Response:
    """The free starts of the booking's team on ``date``, to pick one to move it to."""
    errors: dict[str, str] = {}
    chosen = _day(day, "reschedule.date", errors)
    slots: list[Any] = []
    if chosen is None and not errors:
        errors["reschedule.date"] = "Pick a date."
    async with database(request).unit_of_work(principal.org_id) as s:
        try:
            b = await service.get(s, principal.org_id, booking_id)
        except service.BookingNotFound:
            return error_page(request, 404, "No such booking in this business.")
        ov = await org_view(s, request, principal.org_id)
        if chosen is not None:
            try:
                slots = await scheduling.find_slots(
                    s,
                    principal.org_id,
                    first_day=chosen,
                    days=1,
                    duration=b.ends_at - b.starts_at,
                    resource_id=b.resource_id,
                )
            except DomainError as err:
                errors["reschedule.date"] = err.detail
    context = {"b": b, "view": ov, "slots": slots, "errors": errors, "day": day, "typed": {}}
    status = 422 if errors else 200
    return render(request, "console/booking_slots.html", context, status_code=status)


@router.post("/app/bookings/{booking_id}/reschedule")
async def reschedule(
    request: Request,
    principal: Writer,
    client: ClientInfo,
    booking_id: uuid.UUID,
    version: Annotated[str, Form(max_length=12)] = "",
    day: Annotated[str, Form(alias="date", max_length=10)] = "",
    start: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    typed = {"date": day, "start": start}
    try:
        when = parse_sane_datetime(start)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return await _render_panel(
            request,
            principal,
            booking_id,
            status=422,
            errors={"reschedule.start": "Pick one of the free times."},
            typed=typed,
        )

    async def do(s: AsyncSession, trail: AuditTrail) -> str:
        b = await service.reschedule(
            s, principal.org_id, booking_id, when, actor=principal.actor, if_match=_version(version)
        )
        after = {"start": b.starts_at.isoformat()}
        await trail("booking.rescheduled", f"booking:{booking_id}", after=after)
        return "Booking moved; the customer is emailed the new time."

    return await _act(request, principal, client, booking_id, "reschedule", do, typed)


@router.post("/app/bookings/{booking_id}/resend-email")
async def resend_email(
    request: Request, principal: Writer, client: ClientInfo, booking_id: uuid.UUID
) -> Response:
    async def do(s: AsyncSession, trail: AuditTrail) -> str:
        message = await reminders.resend_last_email(
            s, principal.org_id, booking_id, actor=principal.actor
        )
        template = message.payload["template"]
        await trail("booking.email_resent", f"booking:{booking_id}", after={"template": template})
        return f"The last email ({template}) is queued again to {message.payload['to']}."

    return await _act(request, principal, client, booking_id, "resend", do)
