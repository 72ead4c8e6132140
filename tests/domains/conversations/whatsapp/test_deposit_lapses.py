"""A tattoo deposit checkout that lapses on Stripe (checkout.session.expired or
checkout.session.async_payment_failed, signed as Stripe signs them) does not leave the
conversation silently AWAITING_DEPOSIT: the first lapse re-issues a fresh checkout for
the same time and tells the contact (free text in the window, the deposit template
outside it), the second moves it to NEEDS_FOLLOW_UP with a word to the contact; a time
taken meanwhile gets a fresh offer; panic mode and STOP keep the contact from hearing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from servio.domains.bookings import service as bookings
from servio.domains.conversations.lapses import FOLLOW_UP, FRESH, WHY
from servio.domains.messaging.models import ChannelContact
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database, utcnow
from tests.domains.conversations.whatsapp.support import (
    Phone,
    bookings_and_payments,
    consult,
    conversation,
    offered_rows,
    stripe_event,
    studio,
    texts,
)
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.identity import Account

PAY = "https://checkout.stripe.test/pay/"


async def _awaiting_deposit(api: httpx.AsyncClient, db: Database, graph: FakeGraph) -> Account:
    """A consultation with a picked time, approved: AWAITING_DEPOSIT on cs_test_1."""
    owner = await studio(api, db)
    await consult(Phone(api, graph))
    row = await conversation(db, owner.org_id)
    r = await api.post(
        f"/v1/conversations/{row.id}/stage", json={"stage": "AWAITING_DEPOSIT"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    await deliver_outbox(api)
    return owner


async def _lapse(api: httpx.AsyncClient, kind: str, session: str, event_id: str) -> str:
    body = {"id": session, "payment_status": "unpaid", "status": "expired"}
    outcome = (await stripe_event(api, kind, body, event_id)).get("outcome", "duplicate")
    await deliver_outbox(api)  # the conversation hears of it
    await deliver_outbox(api)  # and opens the fresh checkout, or tells the contact
    await deliver_outbox(api)  # the message with the fresh link goes
    return str(outcome)


async def test_a_lapsed_checkout_is_reissued_once_then_followed_up(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await _awaiting_deposit(api, db, graph)
    [first], _ = await bookings_and_payments(db, owner.org_id)

    before = len(graph.sent)
    assert await _lapse(api, "checkout.session.expired", "cs_test_1", "evt_lapse_1") == "released"
    [told] = texts(graph, before)
    fresh = f"{WHY['expired']} {FRESH['expired']}"
    assert told.startswith(f"{fresh} To book, we take a deposit of 100 CAD.")
    assert told.endswith(f"Pay the deposit here: {PAY}cs_test_2")
    row = await conversation(db, owner.org_id)
    (old, new), (expired, pending) = await bookings_and_payments(db, owner.org_id)
    assert old.id == first.id
    assert (old.status, new.status) == ("EXPIRED", "PENDING")
    assert (new.starts_at, new.resource_id, new.deposit_cents) == (
        old.starts_at,
        old.resource_id,
        10000,
    )
    assert (expired.status, pending.status, pending.checkout_session_id) == (
        "expired",
        "pending",
        "cs_test_2",
    )
    assert (row.stage, row.booking_id) == ("AWAITING_DEPOSIT", new.id)
    [lapse] = row.answers["_deposit_lapses"]
    assert {k: lapse[k] for k in ("booking_id", "reason", "outcome", "told")} == {
        "booking_id": str(old.id),
        "reason": "expired",
        "outcome": "reissued",
        "told": True,
    }

    # A replay, and a late word on the old session, change nothing.
    before = len(graph.sent)
    assert await _lapse(api, "checkout.session.expired", "cs_test_1", "evt_lapse_1") == "duplicate"
    assert await _lapse(api, "checkout.session.expired", "cs_test_1", "evt_lapse_1b") == "ignored"
    assert texts(graph, before) == []

    # The fresh link's payment fails too: a person follows up.
    assert (
        await _lapse(api, "checkout.session.async_payment_failed", "cs_test_2", "evt_lapse_2")
        == "released"
    )
    assert texts(graph, before) == [FOLLOW_UP.format(what="failed")]
    row = await conversation(db, owner.org_id)
    (_, new), (_, failed) = await bookings_and_payments(db, owner.org_id)
    assert (row.stage, row.booking_id, new.status, failed.status) == (
        "NEEDS_FOLLOW_UP",
        None,
        "EXPIRED",
        "failed",
    )
    assert [x["outcome"] for x in row.answers["_deposit_lapses"]] == ["reissued", "follow_up"]

    # Staff send a fresh request from the follow-up queue.
    before = len(graph.sent)
    r = await api.post(
        f"/v1/conversations/{row.id}/stage", json={"stage": "AWAITING_DEPOSIT"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    await deliver_outbox(api)
    [again] = texts(graph, before)
    assert again.endswith(f"Pay the deposit here: {PAY}cs_test_3")
    found, _ = await bookings_and_payments(db, owner.org_id)
    assert [b.status for b in found] == ["EXPIRED", "EXPIRED", "PENDING"]


async def test_outside_the_window_the_fresh_link_goes_as_the_deposit_template(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await _awaiting_deposit(api, db, graph)
    async with db.unit_of_work(system=True) as s:
        await s.execute(
            update(ChannelContact).values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
    before = len(graph.sent)
    assert await _lapse(api, "checkout.session.expired", "cs_test_1", "evt_window") == "released"
    [sent] = graph.sent[before:]
    template = sent["body"]["template"]
    assert template["name"] == "inkwell_deposit_request"
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params == ["100 CAD", f"{PAY}cs_test_2"]
    assert (await conversation(db, owner.org_id)).stage == "AWAITING_DEPOSIT"


async def test_panic_mode_and_stop_keep_the_notice_from_the_contact(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await _awaiting_deposit(api, db, graph)
    r = await api.put(
        "/v1/admin/panic", json={"on": True, "reason": "checking"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    before = len(graph.sent)
    assert await _lapse(api, "checkout.session.expired", "cs_test_1", "evt_panic") == "released"
    assert texts(graph, before) == []
    row = await conversation(db, owner.org_id)
    [lapse] = row.answers["_deposit_lapses"]
    assert (lapse["outcome"], lapse["told"], row.stage) == ("reissued", False, "AWAITING_DEPOSIT")

    r = await api.put("/v1/admin/panic", json={"on": False}, headers=owner.auth)
    assert r.status_code == 200, r.text
    phone = Phone(api, graph)
    phone.n = 100  # after the consultation's messages
    await phone.say("STOP")
    before = len(graph.sent)
    assert await _lapse(api, "checkout.session.expired", "cs_test_2", "evt_stop") == "released"
    assert texts(graph, before) == []
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.booking_id) == ("OPTED_OUT", None)
    assert [x["outcome"] for x in row.answers["_deposit_lapses"]] == ["reissued", "noted"]


async def test_a_time_taken_meanwhile_gets_a_fresh_offer(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await _awaiting_deposit(api, db, graph)
    [held], _ = await bookings_and_payments(db, owner.org_id)
    async with db.unit_of_work(owner.org_id) as s:  # the 30-minute hold ends
        assert await bookings.expire_holds(s, owner.org_id, utcnow() + timedelta(hours=1)) == 1
        await scheduling.reserve(  # someone else takes that time
            s,
            owner.org_id,
            resource_id=held.resource_id,
            start=held.starts_at,
            duration=held.ends_at - held.starts_at,
            kind="booking",
        )

    before = len(graph.sent)
    assert await _lapse(api, "checkout.session.expired", "cs_test_1", "evt_taken") == "ignored"
    [taken] = texts(graph, before)  # one list message
    assert taken.startswith(f"{WHY['expired']} The time you picked has just been taken, sorry.")
    assert taken.endswith("Pick one of the times below and we'll send you the payment link.")
    rows = offered_rows(graph, before)
    assert all(r["id"].startswith("slot:") for r in rows)
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.booking_id) == ("AWAITING_DEPOSIT", None)
    assert "slot" not in row.answers
    assert row.answers["_deposit_lapses"][0]["outcome"] == "offered"
    assert uuid.UUID(row.answers["_deposit_lapses"][0]["booking_id"]) == held.id
