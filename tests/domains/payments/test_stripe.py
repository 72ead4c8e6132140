"""Deposits through Stripe Checkout (a local fake answering like Stripe's API) and
Stripe's webhook signed with its real scheme: paid bookings confirm once, replays
change nothing, late or out-of-order events never move a booking backwards."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from servio.domains.identity import service as identity
from servio.domains.payments.models import LedgerEntry, Payment
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database, utcnow
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.fake_stripe import FakeStripe, event, post_event
from tests.support.identity import problem, register

SECRET = "whsec_test_secret"
TZ = ZoneInfo("America/Edmonton")


async def _post_event(
    api: httpx.AsyncClient, payload: bytes, secret: str = SECRET
) -> httpx.Response:
    return await post_event(api, payload, secret)


async def test_deposit_checkout_and_webhook(
    db_url: str, db: Database, tmp_path: Path, stripe_fake: tuple[FakeStripe, str]
) -> None:
    fake, url = stripe_fake
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        stripe_api_key="sk_test_123",
        stripe_webhook_secret=SECRET,
        stripe_api_base=url,
    )
    async with app_client(settings, raise_errors=False) as api:
        owner = await register(api, "ada@example.com", "Bright Homes")
        async with db.unit_of_work(system=True) as s:
            org = await identity.get_org(s, owner.org_id)
            org.timezone, org.currency = "America/Edmonton", "CAD"
            await scheduling.add_resource(
                s, owner.org_id, "Team A", "team", {d: [(time(9), time(18))] for d in range(7)}
            )
        start = datetime.combine(
            (utcnow().astimezone(TZ) + timedelta(days=5)).date(), time(9), tzinfo=TZ
        )
        r = await api.post(
            f"/v1/bookings?org={owner.org_slug}",
            json={
                "name": "Jo",
                "email": "jo@example.com",
                "start": start.isoformat(),
                "inputs": {"beds": 2, "baths": 1},
            },
        )
        assert r.status_code == 201, r.text
        booking = r.json()
        assert booking["checkout_url"] == "https://checkout.stripe.test/pay/cs_test_1"
        assert fake.sessions["cs_test_1"]["amount_total"] == booking["deposit_cents"]
        assert fake.sessions["cs_test_1"]["metadata"]["booking_id"] == booking["id"]
        assert fake.sessions["cs_test_1"]["client_reference_id"] == booking["id"]

        problem(
            await _post_event(api, b'{"id": "evt_x"}', secret="whsec_wrong"),
            400,
            "invalid-signature",
        )
        paid = event(
            "checkout.session.completed",
            {"id": "cs_test_1", "payment_status": "paid", "payment_intent": "pi_1"},
            "evt_1",
        )
        first = await _post_event(api, paid)
        assert first.json() == {"received": True, "outcome": "confirmed"}
        again = await _post_event(api, paid)
        assert again.json() == {"received": True, "duplicate": True}
        late_expiry = event("checkout.session.expired", {"id": "cs_test_1"}, "evt_2")
        assert (await _post_event(api, late_expiry)).json()["outcome"] == "ignored"
        got = (await api.get(f"/v1/admin/bookings/{booking['id']}", headers=owner.auth)).json()
        assert got["status"] == "CONFIRMED"
        refund = event(
            "charge.refunded",
            {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 20_00},
            "evt_3",
        )
        assert (await _post_event(api, refund)).json()["outcome"] == "refund-recorded"
    async with db.unit_of_work(system=True) as s:
        payment = await s.scalar(select(Payment))
        assert payment is not None
        assert (payment.status, payment.refunded_cents) == ("paid", 20_00)
        kinds = sorted(e.kind for e in await s.scalars(select(LedgerEntry)))
    assert kinds == ["charge", "refund"]
