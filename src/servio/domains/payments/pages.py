"""Where the checkout sends the customer back: ``/booking/{id}/paid`` and
``/booking/{id}/cancelled``, plain pages saying where the booking stands."""

from __future__ import annotations

import html
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servio.domains.payments.gateway import GatewayRefused, GatewayUnavailable
from servio.domains.payments.holder import deposit_holder
from servio.platform.http.auth import database

router = APIRouter(tags=["payments"], include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
</style>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"""

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
        info = await deposit_holder(request).checkout_return(s, booking_id)
    if info is None:
        body = "<p>We do not know this booking.</p>"
        return HTMLResponse(PAGE.format(title="Booking not found", body=body), status_code=404)
    e = {k: html.escape(v) for k, v in info.items() if k != "checkout_url"}
    note = MESSAGES.get(info["status"], f"This booking is {e['status'].lower()}.")
    if cancelled and info["status"] == "PENDING":
        note = "The payment was not completed. Your slot is held until the hold expires."
    body = (
        f"<p>{html.escape(note)}</p><dl><dt>Business</dt><dd>{e['business']}</dd>"
        f"<dt>Reference</dt><dd>{e['reference']}</dd><dt>When</dt><dd>{e['when']}</dd>"
        f"<dt>Status</dt><dd>{e['status']}</dd></dl>"
    )
    return HTMLResponse(PAGE.format(title=f"Booking {e['reference']}", body=body))


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
    holder = deposit_holder(request)
    async with db.unit_of_work(system=True) as s:
        info = await holder.checkout_return(s, booking_id)
    url = info["checkout_url"] if info is not None else ""
    if not url:
        state = request.app.state
        public_url = state.container.settings.public_url
        try:
            opened = await holder.open_unopened_checkout(
                db, booking_id, state.payment_gateway, public_url
            )
            url = opened or ""
        except (GatewayUnavailable, GatewayRefused):
            body = f"<p>{html.escape(PROVIDER_DOWN)}</p>"
            down = PAGE.format(title="Payment not available yet", body=body)
            return HTMLResponse(down, status_code=503, headers={"Retry-After": "30"})
    if url:
        return RedirectResponse(url, status_code=303)
    return await _page(request, booking_id, cancelled=False)
