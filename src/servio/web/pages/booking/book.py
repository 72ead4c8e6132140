"""``POST /b/{org_slug}/book``: the booking form sent. Errors come back beside their
fields with what the customer typed (422, or 409 when the time was just taken); a
booking goes on to the deposit checkout when one is due, else to its confirmation.
The form's ``Idempotency-Key`` makes a repeated send book once (the idempotency
middleware replays the first answer)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from servio.domains.bookings import flows
from servio.domains.bookings import service as bookings
from servio.domains.bookings.models import Booking
from servio.domains.payments import service as payments
from servio.domains.scheduling import service as scheduling
from servio.platform.captcha import CaptchaFailed, verify_turnstile
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.web.deps import get_container
from servio.web.pages.booking.context import (
    Business,
    UnknownBusiness,
    load_business,
    not_found,
    remote_ip,
)
from servio.web.pages.booking.form import BookingForm, Contact, contact, estimate_inputs, read_form
from servio.web.pages.booking.page import page_context
from servio.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
PROVIDER_DOWN = (
    "We could not reach the payment service to take your deposit. Your time is held for "
    "a few minutes: please send the form again shortly."
)
PROVIDER_REFUSED = (
    "The payment service did not accept the deposit for this booking. Please contact the "
    "business to book this time."
)


def confirmation_path(b: Business, booking_id: object) -> str:
    return f"/b/{b.slug}/booking/{booking_id}"


async def _captcha(request: Request, b: Business, form: BookingForm) -> None:
    settings = get_container(request).settings
    secret = settings.turnstile_secret.get_secret_value() if settings.turnstile_secret else None
    try:
        await verify_turnstile(
            secret=secret,
            verify_url=settings.turnstile_verify_url,
            token=form.captcha_token,
            remote_ip=remote_ip(request),
        )
    except CaptchaFailed:
        form.add_error("captcha", "Please confirm you are a person (the check below).")


async def _book(
    request: Request, b: Business, form: BookingForm, who: Contact
) -> tuple[Booking, str | None]:
    """The booking (and its deposit checkout URL, when one is due), through the same
    booking-with-deposit flow as ``POST /v1/bookings``."""
    container = get_container(request)
    booked = await flows.book(
        database(request),
        container.catalog,
        b.org.id,
        bookings.BookingRequest(
            name=who.name,
            email=who.email,
            phone=who.phone,
            start=who.slot,
            inputs=estimate_inputs(form),
            duration_minutes=None,
            resource_id=None,
            lead_id=None,
            notes=who.notes,
        ),
        container.deposits,
        return_path=confirmation_path(b, "{booking_id}"),
    )
    return booked.booking, booked.checkout_url


async def _form_again(request: Request, b: Business, form: BookingForm, status: int) -> Response:
    context = await page_context(request, b, form)
    if request.headers.get("hx-request"):
        return render(request, "public/booking_section.html", context, status_code=status)
    return render(request, "public/booking.html", context, status_code=status, headers=b.headers())


def _onwards(request: Request, b: Business, url: str, paying: bool) -> Response:
    if not request.headers.get("hx-request"):
        return RedirectResponse(url, status_code=303)
    context = b.context(url=url, paying=paying)
    return render(request, "public/booked.html", context, headers={"HX-Redirect": url})


@router.post("/b/{org_slug}/book")
async def book(org_slug: str, request: Request) -> Response:
    try:
        b = await load_business(request, org_slug)
    except UnknownBusiness:
        return not_found(request)
    form = read_form(await request.form())
    who = contact(form)
    if estimate_inputs(form) is None or who is None or form.errors:
        return await _form_again(request, b, form, 422)
    await _captcha(request, b, form)
    if form.errors:
        return await _form_again(request, b, form, 422)
    try:
        booking, checkout_url = await _book(request, b, form, who)
    except scheduling.SlotTaken:
        form.add_error("slot", "That time was just taken. Please pick another one.")
        form.values["slot"] = ""
        return await _form_again(request, b, form, 409)
    except payments.GatewayUnavailable as error:
        form.add_error("form", PROVIDER_DOWN)
        down = await _form_again(request, b, form, error.status)
        down.headers["Retry-After"] = str(error.retry_after)
        return down
    except payments.GatewayRefused as error:
        form.add_error("form", PROVIDER_REFUSED)
        return await _form_again(request, b, form, error.status)
    except DomainError as error:
        form.add_domain_error(error)
        return await _form_again(request, b, form, 422 if error.status < 500 else error.status)
    if checkout_url:
        return _onwards(request, b, checkout_url, paying=True)
    return _onwards(request, b, confirmation_path(b, booking.id), paying=False)
