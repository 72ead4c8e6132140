"""The tattoo deposit on the core: when staff approve a design the contact's chosen
slot becomes a PENDING booking (the artist, the time, the deposit the vertical's
policy asks), held with its pending deposit in the conversation's transaction; once
that committed the provider's checkout is opened for it (the booking-with-deposit
flow, ``bookings.flows``, never inside a transaction) and the deposit request the
contact gets carries the checkout link. When the provider cannot be reached the
contact is told to reply to try again, and their reply gets the link while the
booking still holds the time.

The booking is ``staff_confirms``: the paid deposit keeps its slot but leaves it
PENDING, and the core announces ``booking.deposit_paid`` (the conversation goes
DEPOSIT_PAID then BOOKING_PENDING) and, when the artist confirms the booking,
``booking.confirmed`` (the conversation is BOOKED).

When no slot was picked yet (or the picked one was taken meanwhile), the deposit
request goes with a fresh offer of the artists' free times; picking one of them opens
the booking and its checkout then (``ask_deposit`` again, from the contact's turn)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import flows as booking_flows
from servio.domains.bookings import service as bookings
from servio.domains.catalog import service as catalog
from servio.domains.conversations import machine, offers
from servio.domains.conversations.actions import Action, DepositRequest, Text
from servio.domains.conversations.flows import Flow
from servio.domains.conversations.models import Conversation
from servio.domains.payments import service as payments
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database

RECEIVED = "Deposit received, thank you! Your artist will confirm your booking shortly."
BOOKED = "You're booked with {artist} on {when}. See you then!"
PICK_A_TIME = "Pick one of the times below and we'll send you the payment link."
TIME_TAKEN = "The time you picked has just been taken, sorry."
LAPSED_KEY = "deposit-lapsed"  # names the messages about one lapsed checkout
LINK_UNAVAILABLE = (
    "We could not open the payment link just now; your time stays held for a little "
    "while. Reply here in a few minutes and we will send the link again."
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkout:
    """What opening a deposit needs from the deployment (the web layer builds it)."""

    prices: catalog.Catalog
    gateway: payments.PaymentGateway | None
    public_url: str

    @property
    def deposits(self) -> booking_flows.Deposits:
        return booking_flows.Deposits(self.gateway, self.public_url)


async def open_deposit(
    s: AsyncSession,
    org_id: uuid.UUID,
    row: Conversation,
    answers: dict[str, Any],
    deposit: DepositRequest,
    checkout: Checkout,
) -> DepositRequest:
    """The booking for the chosen slot, held with its pending deposit (the first step of
    the booking-with-deposit flow, in the conversation's transaction); the request as
    sent, its checkout to be opened once that committed (``with_checkout``). Without a
    chosen slot (or once a booking exists) the request is unchanged."""
    slot = answers.get("slot")
    if not isinstance(slot, dict) or row.booking_id is not None:
        return deposit
    start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
    booking = await booking_flows.hold(
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
            deposit_cents=deposit.amount_cents,
            staff_confirms=True,
        ),
        checkout.gateway,
    )
    row.booking_id = booking.id
    pending = checkout.gateway is not None
    return deposit.model_copy(update={"booking_id": booking.id, "checkout_pending": pending})


async def with_checkout(
    db: Database, org_id: uuid.UUID, actions: list[Action], checkout: Checkout | None
) -> list[Action]:
    """After the conversation's transaction committed: each deposit request whose
    checkout is pending gets its link from the provider, outside any transaction (the
    booking-with-deposit flow). When the provider cannot be reached the contact is told
    to reply to try again; the booking holds its slot meanwhile and a reply re-opens it
    (``resume_deposit``)."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, DepositRequest) and action.checkout_pending and action.booking_id:
            try:
                url = None
                if checkout is not None:
                    url = await booking_flows.open_checkout(
                        db, org_id, action.booking_id, checkout.deposits
                    )
            except (payments.GatewayUnavailable, payments.GatewayRefused) as exc:
                log.warning("deposit link for %s not opened: %s", action.booking_id, exc)
                out.append(Text(text=f"{action.text} {LINK_UNAVAILABLE}"))
                continue
            action = action.model_copy(update={"checkout_url": url, "checkout_pending": False})
        out.append(action)
    return out


async def resume_deposit(
    s: AsyncSession,
    org: Business,
    row: Conversation,
    flow: Flow,
    state: machine.State,
    checkout: Checkout,
    now: datetime,
) -> tuple[machine.State, list[Action]] | None:
    """A reply while the deposit's link could not be opened yet: the deposit request
    again, its checkout to be opened, while the booking still holds its slot; once the
    hold is gone, a fresh booking for the slot (or free times). None when the link
    was sent (or no deposit waits)."""
    if row.booking_id is None:
        return None
    payment = await payments.deposit_of(s, org.id, row.booking_id)
    if payment is None or payment.status != payments.PaymentStatus.PENDING or payment.checkout_url:
        return None
    deposit = machine.deposit_for(flow, state, org.currency)
    if deposit is None:
        return None
    booking = await bookings.get(s, org.id, row.booking_id)
    if booking.status == bookings.BookingStatus.PENDING and (booking.hold_expires_at or now) > now:
        update = {"booking_id": booking.id, "checkout_pending": True}
        return state, [deposit.model_copy(update=update)]
    row.booking_id = None  # the hold ran out before its link could be opened
    return await ask_deposit(s, org, row, flow, state, checkout, now)


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
