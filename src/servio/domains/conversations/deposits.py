"""The tattoo deposit on the core: when staff approve a design the contact's chosen
slot becomes a PENDING booking (the artist, the time, the deposit the vertical's
policy asks) and the provider's checkout is opened for it; the deposit request the
contact gets carries the checkout link.

The booking is ``staff_confirms``: the paid deposit keeps its slot but leaves it
PENDING, and the core announces ``booking.deposit_paid`` (the conversation goes
DEPOSIT_PAID then BOOKING_PENDING) and, when the artist confirms the booking,
``booking.confirmed`` (the conversation is BOOKED)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.catalog import service as catalog
from servio.domains.conversations.actions import DepositRequest
from servio.domains.conversations.models import Conversation
from servio.domains.payments import service as payments

RECEIVED = "Deposit received, thank you! Your artist will confirm your booking shortly."
BOOKED = "You're booked with {artist} on {when}. See you then!"


@dataclass(frozen=True)
class Checkout:
    """What opening a deposit needs from the deployment (the web layer builds it)."""

    prices: catalog.Catalog
    gateway: payments.PaymentGateway | None
    public_url: str


async def open_deposit(
    s: AsyncSession,
    org_id: uuid.UUID,
    row: Conversation,
    answers: dict[str, Any],
    deposit: DepositRequest,
    checkout: Checkout,
) -> DepositRequest:
    """The booking for the chosen slot and its checkout; the request as sent, with the
    link. Without a chosen slot (or once a booking exists) the request is unchanged."""
    slot = answers.get("slot")
    if not isinstance(slot, dict) or row.booking_id is not None:
        return deposit
    start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
    booking = await bookings.create(
        s,
        checkout.prices,
        org_id,
        bookings.BookingRequest(
            name=str(answers.get("name") or "Client"),
            email=None,
            phone=None,
            start=start,
            inputs=None,
            duration_minutes=int((end - start).total_seconds() // 60),
            resource_id=uuid.UUID(str(slot["resource_id"])),
            lead_id=None,
            pay_online=checkout.gateway is not None,
            deposit_cents=deposit.amount_cents,
            staff_confirms=True,
        ),
    )
    row.booking_id = booking.id
    url = None
    if checkout.gateway is not None:
        payment = await payments.start_deposit(
            s,
            checkout.gateway,
            org_id=org_id,
            booking_id=booking.id,
            amount_cents=booking.deposit_cents,
            currency=booking.currency,
            email="",
            public_url=checkout.public_url,
        )
        url = payment.checkout_url
    return deposit.model_copy(update={"checkout_url": url, "booking_id": booking.id})
