"""Cancelling a booking whose deposit was paid: refunded in full before the cut-off
(through Stripe's refund API, once, with the outbox key as idempotency key), kept
after it, or as staff decide; the provider's charge.refunded event writes the ledger."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from servio.domains.bookings.models import Booking
from servio.domains.identity import service as identity
from servio.domains.payments.models import LedgerEntry, Payment
from servio.platform.db import Database
from servio.platform.outbox import OutboxMessage
from tests.conftest import make_settings
from tests.support.app import app_client, deliver_outbox
from tests.support.bookings import booking_body, business
from tests.support.fake_stripe import FakeStripe, event, post_event
from tests.support.identity import Account, problem

SECRET = "whsec_refund_tests"


async def _signed(api: httpx.AsyncClient, kind: str, obj: dict, event_id: str) -> dict:
    r = await post_event(api, event(kind, obj, event_id), SECRET)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _paid_booking(
    api: httpx.AsyncClient, fake: FakeStripe, owner: Account, start: datetime, n: int
) -> dict:
    """A booking whose deposit the customer paid on the checkout, reported by Stripe."""
    r = await api.post(
        f"/v1/bookings?org={owner.org_slug}",
        json=booking_body(start, email=f"c{n}@example.com"),
    )
    assert r.status_code == 201, r.text
    booking = dict(r.json())
    sid = booking["checkout_url"].rsplit("/", 1)[-1]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as pay:
        await pay.post(f"http://fake/pay/{sid}")
    session = fake.sessions[sid]
    assert session["payment_intent"]
    outcome = await _signed(api, "checkout.session.completed", session, f"evt_paid_{n}")
    assert outcome["outcome"] == "confirmed"
    return booking


async def _refunds_queued(db: Database) -> int:
    async with db.unit_of_work(system=True) as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "payments.refund")
            )
            or 0
        )


async def test_cancel_before_the_cut_off_refunds_the_deposit_once(
    db_url: str, db: Database, tmp_path: Path, stripe_fake: tuple[FakeStripe, str]
) -> None:
    fake, url = stripe_fake
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        stripe_api_key="sk_test_refunds",
        stripe_webhook_secret=SECRET,
        stripe_api_base=url,
    )
    async with app_client(settings, raise_errors=False) as api:
        owner, start = await business(api, db)
        booking = await _paid_booking(api, fake, owner, start, 1)
        url_b = f"/v1/admin/bookings/{booking['id']}"
        wrong = await api.post(
            f"{url_b}/complete", json={"refund_deposit": True}, headers=owner.auth
        )
        problem(wrong, 422, "field-not-for-this-move")
        cancelled = await api.post(
            f"{url_b}/cancel", json={"reason": "Moving away"}, headers=owner.auth
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["refund_cents"] == booking["deposit_cents"] == 50_00
        await deliver_outbox(api)
        await deliver_outbox(api)  # a second pass sends nothing more
        assert len(fake.refunds) == 1
        sent = fake.refunds[0]
        assert sent["idempotency_key"] == f"payments.refund:{booking['id']}"
        assert sent["refund"]["amount"] == 50_00
        intent = sent["refund"]["payment_intent"]
        charge = {"id": "ch_r1", "payment_intent": intent, "amount_refunded": 50_00}
        assert (await _signed(api, "charge.refunded", charge, "evt_r1"))["outcome"] == (
            "refund-recorded"
        )
        timeline = (
            await api.get(f"/v1/admin/timeline/booking/{booking['id']}", headers=owner.auth)
        ).json()
        cancel = next(e for e in timeline if e["kind"] == "cancel")
        assert cancel["detail"]["refund_rule"] == "before_cutoff"
    async with db.unit_of_work(system=True) as s:
        payment = await s.scalar(select(Payment))
        assert payment is not None
        assert (payment.status, payment.refunded_cents) == ("refunded", 50_00)
        kinds = sorted(e.kind for e in await s.scalars(select(LedgerEntry)))
        assert kinds == ["charge", "refund"]
        row = await s.get(Booking, uuid.UUID(booking["id"]))
        assert row is not None
        assert (row.status, row.refund_cents) == ("CANCELLED", 50_00)


async def test_a_late_cancellation_keeps_the_deposit_unless_staff_refund_it(
    db_url: str, db: Database, tmp_path: Path, stripe_fake: tuple[FakeStripe, str]
) -> None:
    fake, url = stripe_fake
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        stripe_api_key="sk_test_refunds",
        stripe_webhook_secret=SECRET,
        stripe_api_base=url,
    )
    async with app_client(settings, raise_errors=False) as api:
        owner, start = await business(api, db)
        async with db.unit_of_work(system=True) as s:  # a week's notice, for this business
            await identity.put_setting(s, owner.org_id, "bookings.cancel_cutoff_hours", 24 * 30)
        kept = await _paid_booking(api, fake, owner, start, 1)
        later = start + timedelta(hours=4)
        waived = await _paid_booking(api, fake, owner, later, 2)
        r = await api.post(f"/v1/admin/bookings/{kept['id']}/cancel", headers=owner.auth)
        assert r.json()["refund_cents"] == 0
        assert await _refunds_queued(db) == 0
        r = await api.post(
            f"/v1/admin/bookings/{waived['id']}/cancel",
            json={"refund_deposit": True, "reason": "Illness"},
            headers=owner.auth,
        )
        assert r.json()["refund_cents"] == waived["deposit_cents"]
        await deliver_outbox(api)
        assert [x["refund"]["amount"] for x in fake.refunds] == [waived["deposit_cents"]]
        timeline = (
            await api.get(f"/v1/admin/timeline/booking/{kept['id']}", headers=owner.auth)
        ).json()
        assert next(e for e in timeline if e["kind"] == "cancel")["detail"]["refund_rule"] == (
            "late_cancellation"
        )
        unpaid = await api.post(
            f"/v1/bookings?org={owner.org_slug}",
            json=booking_body(start + timedelta(days=1), email="u@example.com"),
        )
        r = await api.post(f"/v1/admin/bookings/{unpaid.json()['id']}/cancel", headers=owner.auth)
        assert r.json()["refund_cents"] == 0
    assert await _refunds_queued(db) == 1
