"""The WhatsApp deposit goes through the booking-with-deposit flow: the booking and
its pending deposit commit with the conversation's move, then Stripe (a local fake) is
asked for the checkout outside any transaction with the key ``deposit:{booking_id}``.
When Stripe is down the contact is told to reply to try again, the booking holds its
time, and the reply gets the link for the same booking."""

from __future__ import annotations

from typing import Any

import httpx

from servio.domains.conversations.deposits import LINK_UNAVAILABLE
from servio.platform.db import Database
from tests.domains.conversations.whatsapp.support import (
    Phone,
    bookings_and_payments,
    consult,
    conversation,
    studio,
    texts,
)
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.fake_stripe import FakeStripe
from tests.support.identity import Account

CHECKOUT_1 = "https://checkout.stripe.test/pay/cs_test_1"


async def _approve(api: httpx.AsyncClient, db: Database, owner: Account) -> dict[str, Any]:
    row = await conversation(db, owner.org_id)
    r = await api.post(
        f"/v1/conversations/{row.id}/stage", json={"stage": "AWAITING_DEPOSIT"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    await deliver_outbox(api)  # what the contact is told goes out
    return dict(r.json())


async def test_approval_opens_the_checkout_with_the_bookings_key(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph, stripe: tuple[FakeStripe, str]
) -> None:
    fake, _ = stripe
    owner = await studio(api, db)
    await consult(Phone(api, graph))
    before = len(graph.sent)
    moved = await _approve(api, db, owner)
    [booking], [payment] = await bookings_and_payments(db, owner.org_id)
    assert moved["actions"][0]["checkout_url"] == CHECKOUT_1
    [sent] = fake.checkout_requests
    assert (sent.idempotency_key, sent.booking_id, sent.answered) == (
        f"deposit:{booking.id}",
        str(booking.id),
        200,
    )
    assert (payment.status, payment.checkout_session_id) == ("pending", "cs_test_1")
    [told] = texts(graph, before)
    assert told.endswith(f"Pay the deposit here: {CHECKOUT_1}")


async def test_stripe_down_tells_the_contact_to_reply_and_the_reply_gets_the_link(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph, stripe: tuple[FakeStripe, str]
) -> None:
    fake, _ = stripe
    owner = await studio(api, db)
    phone = Phone(api, graph)
    await consult(phone)
    fake.fail_status = 500
    before = len(graph.sent)
    moved = await _approve(api, db, owner)
    [booking], [payment] = await bookings_and_payments(db, owner.org_id)
    assert moved["actions"][0]["type"] == "text"
    assert moved["actions"][0]["text"].endswith(LINK_UNAVAILABLE)
    [told] = texts(graph, before)
    assert told.endswith(LINK_UNAVAILABLE)
    assert "Pay the deposit here" not in told
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.booking_id) == ("AWAITING_DEPOSIT", booking.id)
    assert (booking.status, booking.staff_confirms) == ("PENDING", True)
    assert booking.hold_expires_at is not None
    assert (payment.status, payment.checkout_url) == ("pending", None)
    assert {r.idempotency_key for r in fake.checkout_requests} == {f"deposit:{booking.id}"}
    assert fake.sessions == {}

    fake.fail_status = None  # Stripe is back; the contact replies
    before = len(graph.sent)
    await phone.say("ok")
    [again] = texts(graph, before)
    assert again.endswith(f"Pay the deposit here: {CHECKOUT_1}")
    last = fake.checkout_requests[-1]
    assert (last.idempotency_key, last.answered) == (f"deposit:{booking.id}", 200)
    [same], [opened] = await bookings_and_payments(db, owner.org_id)
    assert (same.id, opened.checkout_session_id, opened.checkout_url) == (
        booking.id,
        "cs_test_1",
        CHECKOUT_1,
    )
    assert (await conversation(db, owner.org_id)).stage == "AWAITING_DEPOSIT"
