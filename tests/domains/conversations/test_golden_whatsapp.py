"""The golden tattoo conversation on WhatsApp, end to end against local fakes of the
Graph API and Stripe: signed messages answer every consultation question, the contact
picks an offered slot, staff approve the design (a PENDING booking for the slot and a
Stripe checkout whose link goes out), Stripe's signed checkout.session.completed makes
the conversation DEPOSIT_PAID then BOOKING_PENDING, and the artist's confirm BOOKED."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.domains.conversations.models import Conversation
from servio.domains.identity import service as identity
from servio.domains.identity.models import Org
from servio.domains.messaging.seed import PHONE_NUMBER_ID, TEMPLATES
from servio.domains.payments.models import Payment
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database
from tests.domains.conversations.support import EVERY_DAY
from tests.domains.messaging.conftest import envelope, post_signed, text_message, wa_settings
from tests.support.app import app_client, deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.fake_stripe import event, post_event, served
from tests.support.identity import Account, register
from tests.support.live import serve

CLIENT = "15551230077"
SECRET = "whsec_golden"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def stripe_url() -> Iterator[str]:
    with served() as (_, url):
        yield url


@pytest.fixture
async def api(
    db_url: str, db: Database, tmp_path: Path, graph: FakeGraph, stripe_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = wa_settings(
        db_url,
        tmp_path / "var",
        graph,
        stripe_api_key="sk_test_golden",
        stripe_webhook_secret=SECRET,
        stripe_api_base=stripe_url,
    )
    async with app_client(settings, raise_errors=False) as client:
        yield client


async def _studio(api: httpx.AsyncClient, db: Database) -> Account:
    owner = await register(api, "owner@inkwell.example.com", "Inkwell Tattoo")
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical, org.currency, org.timezone = "tattoo", "CAD", "America/Edmonton"
        for artist in ("Mara", "Jun"):
            await scheduling.add_resource(s, owner.org_id, artist, "artist", EVERY_DAY)
        await identity.put_setting(s, org.id, "whatsapp.phone_number_id", PHONE_NUMBER_ID)
        await identity.put_setting(s, org.id, "whatsapp.templates", TEMPLATES)
    return owner


class Phone:
    """The contact's WhatsApp: each message signed as Meta signs it."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api, self.n = api, 0

    async def say(self, text: str = "", reply: tuple[str, str] | None = None) -> None:
        self.n += 1
        wamid, ts = f"wamid.G{self.n}", int(time.time()) - 600 + self.n
        message: dict[str, Any] = text_message(wamid, CLIENT, ts, text)
        if reply is not None:
            message = {
                "from": CLIENT,
                "id": wamid,
                "timestamp": str(ts),
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": reply[0], "title": reply[1]},
                },
            }
        r = await post_signed(self.api, envelope([message]))
        assert r.status_code == 200, r.text
        await deliver_outbox(self.api)  # the engine runs
        await deliver_outbox(self.api)  # its replies go out


def _texts(graph: FakeGraph, start: int = 0) -> list[str]:
    out = []
    for sent in graph.sent[start:]:
        body = sent["body"]
        out.append(body.get("text", {}).get("body") or body["interactive"]["body"]["text"])
    return out


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
