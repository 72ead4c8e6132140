"""The tattoo deposit on the core: when staff approve a design the contact's chosen
slot becomes a PENDING booking (the artist, the time, the deposit the vertical's
policy asks) and the provider's checkout is opened for it; the deposit request the
contact gets carries the checkout link.

The booking is ``staff_confirms``: the paid deposit keeps its slot but leaves it
PENDING, and the core announces ``booking.deposit_paid`` (the conversation goes
DEPOSIT_PAID then BOOKING_PENDING) and, when the artist confirms the booking,
``booking.confirmed`` (the conversation is BOOKED).

When no slot was picked yet (or the picked one was taken meanwhile), the deposit
request goes with a fresh offer of the artists' free times; picking one of them opens
the booking and its checkout then (``ask_deposit`` again, from the contact's turn)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.catalog import service as catalog
from servio.domains.conversations import machine, offers
from servio.domains.conversations.actions import Action, DepositRequest
from servio.domains.conversations.flows import Flow
from servio.domains.conversations.models import Conversation
from servio.domains.payments import service as payments
from servio.domains.scheduling import service as scheduling

RECEIVED = "Deposit received, thank you! Your artist will confirm your booking shortly."
BOOKED = "You're booked with {artist} on {when}. See you then!"
PICK_A_TIME = "Pick one of the times below and we'll send you the payment link."
TIME_TAKEN = "The time you picked has just been taken, sorry."
LAPSED_KEY = "deposit-lapsed"  # names the messages about one lapsed checkout


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


@dataclass(frozen=True)
class Business:
    """What the deposit needs to know of the org."""

    id: uuid.UUID
    currency: str
    timezone: str


async def ask_deposit(
    s: AsyncSession,
    org: Business,
    row: Conversation,
    flow: Flow,
    state: machine.State,
    checkout: Checkout,
    now: datetime,
) -> tuple[machine.State, list[Action]]:
    """What a conversation awaiting its deposit sends: the deposit request with its
    checkout link for the picked slot; when there is none (or it was taken meanwhile),
    the request's wording over a fresh offer of free times to pick from."""
    deposit = machine.deposit_for(flow, state, org.currency)
    if deposit is None:
        return state, []
    taken = False
    if isinstance(state.answers.get("slot"), dict) and row.booking_id is None:
        try:
            return state, [await open_deposit(s, org.id, row, state.answers, deposit, checkout)]
        except (scheduling.SlotTaken, bookings.StartInPast):
            answers = {k: v for k, v in state.answers.items() if k != "slot"}
            state, taken = replace(state, answers=answers), True
    if row.booking_id is not None:
        return state, [deposit]
    text = f"{TIME_TAKEN} {deposit.text}" if taken else deposit.text
    offer = await offers.offer(s, org.id, flow, state, now, org.timezone)
    if offer is None or not offer.slots:
        more = f" {offer.text}" if offer is not None else ""
        return state, [deposit.model_copy(update={"text": text + more})]
    offered = [slot.model_dump(mode="json") for slot in offer.slots]
    state = replace(state, answers={**state.answers, "_offered": offered})
    # One message (the deposit's wording over the times), so nothing arrives out of order.
    return state, [offer.model_copy(update={"text": f"{text} {PICK_A_TIME}"})]
