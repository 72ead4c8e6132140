"""The golden tattoo conversation on WhatsApp, end to end against local fakes of the
Graph API and Stripe: signed messages answer every consultation question, the contact
picks an offered slot, staff approve the design (a PENDING booking for the slot and a
Stripe checkout whose link goes out), Stripe's signed checkout.session.completed makes
the conversation DEPOSIT_PAID then BOOKING_PENDING, and the artist's confirm BOOKED."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.domains.conversations.models import Conversation
from servio.domains.payments.models import Payment
from servio.platform.db import Database
from tests.domains.conversations.whatsapp.support import CLIENT, SECRET, Phone
from tests.domains.conversations.whatsapp.support import studio as _studio
from tests.domains.conversations.whatsapp.support import texts as _texts
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.fake_stripe import event, post_event


async def _state(db: Database, org_id: uuid.UUID) -> tuple[Conversation, Booking, Payment]:
    async with db.unit_of_work(org_id) as s:
        row = await s.scalar(select(Conversation))
        booking = await s.scalar(select(Booking))
        payment = await s.scalar(select(Payment))
    assert row is not None
    assert booking is not None
    assert payment is not None
    return row, booking, payment


async def test_golden_whatsapp_consultation_to_deposit_to_booked(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await _studio(api, db)
    phone = Phone(api)
    for answer in (
        "Hi! I'd like a tattoo",
        "A small fine-line swallow",
        "left forearm",
        "medium",
        "fine line",
        "black and grey",
        "skip",
        "$400",
        "tomorrow afternoon",
        "Robin Park",
        "yes",
    ):
        await phone.say(answer)
    async with db.unit_of_work(owner.org_id) as s:
        row = await s.scalar(select(Conversation))
        assert row is not None
        assert (row.channel, row.stage, row.answers["size"]) == (
            "whatsapp",
            "NEEDS_ARTIST_REVIEW",
            "medium",
        )
        offered = row.answers["_offered"]
    assert offered, "free times were offered"
    offer = next(
        x["body"]
        for x in graph.sent
        if x["body"].get("interactive", {}).get("type") == "list"
        and x["body"]["interactive"]["action"]["sections"][0]["rows"][0]["id"] == "slot:1"
    )
    rows = offer["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0]["id"] == "slot:1"

    await phone.say(reply=("slot:1", rows[0]["title"]))
    assert "The artist will confirm the time" in _texts(graph)[-1]

    # Staff approve the design: the slot is booked PENDING and its deposit checkout opened.
    before = len(graph.sent)
    r = await api.post(
        f"/v1/conversations/{row.id}/stage", json={"stage": "AWAITING_DEPOSIT"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    deposit = moved["actions"][0]
    assert (deposit["type"], deposit["amount_cents"]) == ("deposit_request", 10000)
    assert deposit["checkout_url"] == "https://checkout.stripe.test/pay/cs_test_1"
    assert moved["booking_id"] == deposit["booking_id"]
    await deliver_outbox(api)
    link = _texts(graph, before)
    assert len(link) == 1
    assert "https://checkout.stripe.test/pay/cs_test_1" in link[0]
    assert "100" in link[0]  # the medium-size deposit
    row, booking, payment = await _state(db, owner.org_id)
    assert (row.stage, row.booking_id) == ("AWAITING_DEPOSIT", booking.id)
    assert (booking.status, booking.deposit_cents, booking.staff_confirms) == (
        "PENDING",
        10000,
        True,
    )
    assert booking.starts_at.isoformat() == offered[0]["start"].replace("Z", "+00:00")
    assert str(booking.resource_id) == offered[0]["resource_id"]
    assert (payment.status, payment.amount_cents) == ("pending", 10000)

    # Stripe reports the deposit paid (signed with Stripe's scheme).
    paid = event(
        "checkout.session.completed",
        {
            "id": "cs_test_1",
            "payment_status": "paid",
            "payment_intent": "pi_golden",
            "client_reference_id": str(booking.id),
        },
        "evt_golden_1",
    )
    r = await post_event(api, paid, SECRET)
    assert r.json() == {"received": True, "outcome": "awaiting_confirmation"}, r.text
    before = len(graph.sent)
    await deliver_outbox(api)  # the conversation hears of it
    await deliver_outbox(api)  # and tells the contact
    assert _texts(graph, before) == [
        "Deposit received, thank you! Your artist will confirm your booking shortly."
    ]
    row, booking, payment = await _state(db, owner.org_id)
    assert row.stage == "BOOKING_PENDING"
    assert (booking.status, booking.hold_expires_at) == ("PENDING", None)
    assert payment.status == "paid"

    # The artist confirms the booking.
    r = await api.post(f"/v1/admin/bookings/{booking.id}/confirm", headers=owner.auth)
    assert r.status_code == 200, r.text
    before = len(graph.sent)
    await deliver_outbox(api)
    await deliver_outbox(api)
    booked = _texts(graph, before)
    assert len(booked) == 1
    assert booked[0].startswith("You're booked with ")
    assert offered[0]["resource_name"] in booked[0]
    row, booking, payment = await _state(db, owner.org_id)
    assert (row.stage, booking.status, payment.status) == ("BOOKED", "CONFIRMED", "paid")
    assert {s["body"]["to"].lstrip("+") for s in graph.sent} == {CLIENT}
