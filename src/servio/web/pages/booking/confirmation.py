"""``GET /b/{org_slug}/booking/{id}``: where a booking stands (the checkout returns the
customer here), and ``GET /b/{org_slug}/booking/{id}.ics``, the booking as a calendar
event. A booking id is an unguessable UUID and only opens under its own business; the
page shows the job, the time and the deposit, never other contact data."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from servio.domains.bookings import service as bookings
from servio.domains.payments import service as payments
from servio.platform.http.auth import database
from servio.web.pages.booking.context import (
    UnknownBusiness,
    load_business,
    not_found,
    questions,
)
from servio.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

NEXT_STEP = {
    "CONFIRMED": "Your booking is confirmed. We look forward to seeing you.",
    "PENDING": "We have your request; the business confirms it shortly.",
    "PENDING_DEPOSIT": "Your time is held. It is confirmed once the deposit is paid.",
    "EXPIRED": "The time held for this booking ran out before the deposit arrived.",
    "CANCELLED": "This booking is cancelled.",
    "COMPLETED": "This visit is done. Thank you!",
    "NO_SHOW": "We missed you at this visit.",
}


def _stage(status: str, hold_expires_at: object) -> str:
    """A pending booking either waits for its deposit (a hold) or for the business."""
    return (
        "PENDING_DEPOSIT"
        if status == bookings.BookingStatus.PENDING and hold_expires_at
        else status
    )


@router.get("/b/{org_slug}/booking/{booking_id}.ics")
async def calendar_file(org_slug: str, booking_id: uuid.UUID, request: Request) -> Response:
    try:
        b = await load_business(request, org_slug)
    except UnknownBusiness:
        return not_found(request)
    async with database(request).unit_of_work(b.org.id) as s:
        try:
            event = await bookings.calendar_file(s, b.org.id, booking_id)
        except bookings.BookingNotFound:
            return not_found(request)
    return Response(
        event.content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking_id}.ics"'},
    )


@router.get("/b/{org_slug}/booking/{booking_id}")
async def confirmation(org_slug: str, booking_id: uuid.UUID, request: Request) -> Response:
    try:
        b = await load_business(request, org_slug)
    except UnknownBusiness:
        return not_found(request)
    async with database(request).unit_of_work(b.org.id) as s:
        try:
            booking = await bookings.get(s, b.org.id, booking_id)
        except bookings.BookingNotFound:
            return not_found(request)
        deposit = await payments.deposit_of(s, b.org.id, booking_id)
    asked = await questions(request, b)
    labels = {}
    if asked is not None:
        labels = {c.value: c.label for c in [*asked.cleaning_types, *asked.frequencies]}
    gave_up = request.query_params.get("payment") == "cancelled"
    context = b.context(
        booking=booking,
        reference=str(booking.id)[:8].upper(),
        deposit=deposit,
        labels=labels,
        next_step=NEXT_STEP.get(_stage(booking.status, booking.hold_expires_at), ""),
        gave_up=gave_up and booking.status == bookings.BookingStatus.PENDING,
        pay_url=deposit.checkout_url
        if deposit
        and deposit.status == payments.PaymentStatus.PENDING
        and booking.status == bookings.BookingStatus.PENDING
        else None,
    )
    return render(request, "public/booking_confirmation.html", context)
