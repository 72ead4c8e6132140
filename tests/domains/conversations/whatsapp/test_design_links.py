"""Staff decide on a design from an action link (/a/{token}) and the conversation takes
the booking path: approval with a picked time books it PENDING, opens its Stripe
checkout and sends the contact the deposit link; approval before a time is picked
sends the deposit's wording over a fresh offer, and picking opens the checkout then;
rejection ends the conversation with a polite word, and a later approval is refused."""

from __future__ import annotations

import uuid

import httpx

from servio.domains.conversations.service import APPROVED, DECLINED
from servio.platform.db import Database
from tests.domains.conversations.whatsapp.support import (
    Phone,
    bookings_and_payments,
    consult,
    conversation,
    offered_rows,
    studio,
    texts,
)
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.identity import Account

CHECKOUT_1 = "https://checkout.stripe.test/pay/cs_test_1"


async def _use_link(api: httpx.AsyncClient, owner: Account, kind: str, subject: uuid.UUID) -> str:
    r = await api.post(
        "/v1/admin/action-links",
        json={"kind": kind, "subject_id": str(subject), "ttl_minutes": 60},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    token = r.json()["url"].split("/a/", 1)[1]
    used = await api.post(f"/a/{token}")
    await deliver_outbox(api)  # the deposit's checkout is opened, once the approval committed
    await deliver_outbox(api)  # what the contact is told goes out
    return used.text if used.status_code == 200 else f"{used.status_code}: {used.text}"


async def test_approving_a_design_with_a_picked_time_sends_the_deposit_link(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    await consult(phone)
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.answers["slot"]["id"]) == ("NEEDS_ARTIST_REVIEW", "slot:1")

    before = len(graph.sent)
    page = await _use_link(api, owner, "design.approve", row.id)
    assert "The design is approved; the client has been sent the next step." in page
    [told] = texts(graph, before)
    assert told.startswith(f"{APPROVED} To book, we take a deposit of 100 CAD.")
    assert told.endswith(f"Pay the deposit here: {CHECKOUT_1}")
    row = await conversation(db, owner.org_id)
    [booking], [payment] = await bookings_and_payments(db, owner.org_id)
    assert (row.stage, row.booking_id) == ("AWAITING_DEPOSIT", booking.id)
    assert (booking.status, booking.deposit_cents, booking.staff_confirms) == (
        "PENDING",
        10000,
        True,
    )
    assert booking.starts_at.isoformat() == row.answers["slot"]["start"].replace("Z", "+00:00")
    assert (payment.status, payment.checkout_url) == ("pending", CHECKOUT_1)


async def test_approving_before_a_time_is_picked_offers_times_then_opens_the_checkout(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    await consult(phone, pick=False)
    row = await conversation(db, owner.org_id)
    assert row.stage == "NEEDS_ARTIST_REVIEW"
    assert "slot" not in row.answers

    before = len(graph.sent)
    await _use_link(api, owner, "design.approve", row.id)
    [asked] = texts(graph, before)  # one list message: the deposit's wording over the times
    assert asked.startswith(f"{APPROVED} To book, we take a deposit of 100 CAD.")
    assert asked.endswith("Pick one of the times below and we'll send you the payment link.")
    rows = offered_rows(graph, before)
    assert len(rows) == 3
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.booking_id) == ("AWAITING_DEPOSIT", None)
    assert await bookings_and_payments(db, owner.org_id) == ([], [])

    before = len(graph.sent)
    await phone.say(reply=("slot:2", rows[1]["title"]))
    [link] = texts(graph, before)
    assert link.startswith("Noted: ")
    assert "artist will confirm" not in link
    assert "To book, we take a deposit of 100 CAD." in link
    assert link.endswith(f"Pay the deposit here: {CHECKOUT_1}")
    row = await conversation(db, owner.org_id)
    [booking], [payment] = await bookings_and_payments(db, owner.org_id)
    assert (row.stage, row.booking_id, row.answers["slot"]["id"]) == (
        "AWAITING_DEPOSIT",
        booking.id,
        "slot:2",
    )
    assert booking.starts_at.isoformat() == row.answers["slot"]["start"].replace("Z", "+00:00")
    assert (booking.status, payment.status) == ("PENDING", "pending")


async def test_rejecting_a_design_tells_the_contact_and_ends_the_conversation(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    await consult(phone)
    row = await conversation(db, owner.org_id)

    before = len(graph.sent)
    page = await _use_link(api, owner, "design.reject", row.id)
    assert "The design is rejected; the client has been told." in page
    assert texts(graph, before) == [DECLINED]
    assert (await conversation(db, owner.org_id)).stage == "REJECTED"

    before = len(graph.sent)
    refused = await _use_link(api, owner, "design.approve", row.id)
    assert refused.startswith("409: ")
    assert "The request is at REJECTED; only a design waiting for review is decided." in refused
    assert texts(graph, before) == []
    assert (await conversation(db, owner.org_id)).stage == "REJECTED"
    assert await bookings_and_payments(db, owner.org_id) == ([], [])
    await phone.say("hello?")  # the conversation stays closed and quiet
    assert texts(graph, before) == []
