"""Where the checkout sends the customer back: ``/booking/{id}/paid`` and
``/booking/{id}/cancelled``, plain pages saying where the booking stands."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servio.domains.payments import deps
from servio.domains.payments.gateway import GatewayRefused, GatewayUnavailable
from servio.platform.http.auth import database
from servio.platform.http.templates import PageTemplates

router = APIRouter(tags=["payments"], include_in_schema=False)
PAGES = PageTemplates(Path(__file__).parent / "templates")

PROVIDER_DOWN = (
    "We could not reach the payment service just now. Your time stays held for a little "
    "while: open this link again in a few minutes."
)
MESSAGES = {
    "CONFIRMED": "Your deposit is received and your booking is confirmed.",
    "PENDING": "We are waiting for the payment to be confirmed; this page updates when "
    "you reload it, and an email follows.",
    "EXPIRED": "The time held for this booking ran out before the payment arrived.",
    "CANCELLED": "This booking is cancelled.",
}


async def _page(request: Request, booking_id: uuid.UUID, cancelled: bool) -> HTMLResponse:
    async with database(request).unit_of_work(system=True) as s:
        info = await deps.holder(request).checkout_return(s, booking_id)
    if info is None:
        notice = {"title": "Booking not found", "message": "We do not know this booking."}
        return PAGES.render("plain_page.html", notice, status_code=404)
    note = MESSAGES.get(info["status"], f"This booking is {info['status'].lower()}.")
    if cancelled and info["status"] == "PENDING":
        note = "The payment was not completed. Your slot is held until the hold expires."
    shown = {k: info[k] for k in ("business", "reference", "when", "status")}
    title = f"Booking {info['reference']}"
    return PAGES.render("pages/booking_status.html", {**shown, "title": title, "note": note})


def _provider_down() -> HTMLResponse:
    notice = {"title": "Payment not available yet", "message": PROVIDER_DOWN}
    return PAGES.render("plain_page.html", notice, status_code=503, headers={"Retry-After": "30"})


@router.get("/booking/{booking_id}/paid", response_class=HTMLResponse)
async def paid(booking_id: uuid.UUID, request: Request) -> HTMLResponse:
    return await _page(request, booking_id, cancelled=False)


@router.get("/booking/{booking_id}/cancelled", response_class=HTMLResponse)
async def cancelled(booking_id: uuid.UUID, request: Request) -> HTMLResponse:
    return await _page(request, booking_id, cancelled=True)


@router.get("/booking/{booking_id}/pay", response_model=None)
async def pay(booking_id: uuid.UUID, request: Request) -> HTMLResponse | RedirectResponse:
    """The pay link of the booking emails: on to the checkout while the deposit is
    due (asked of the provider now when it could not be at booking time), else the page
    that says where the booking stands."""
    db = database(request)
    holder = deps.holder(request)
    async with db.unit_of_work(system=True) as s:
        info = await holder.checkout_return(s, booking_id)
    url = info["checkout_url"] if info is not None else ""
    if not url:
        try:
            url = await holder.open_unopened_checkout(db, booking_id) or ""
        except (GatewayUnavailable, GatewayRefused):
            return _provider_down()
    if url:
        return RedirectResponse(url, status_code=303)
    return await _page(request, booking_id, cancelled=False)
