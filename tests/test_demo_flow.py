"""What a new user does on ``make demo``, over real HTTP against a live server: the seeded
business has a month of history, a customer gets a price, leaves a lead, books a free
slot, pays the deposit on the test checkout (which sends Stripe's signed event to the
webhook) and receives the emails; the owner sees the booking and the metrics."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from servio.app.container import Container
from servio.app.seeding import seed_demo
from servio.domains.bookings.models import Booking
from servio.domains.payments.models import LedgerEntry, Payment
from servio.platform.db import Database
from servio.platform.inbox import ExternalEvent
from servio.web.app import create_app
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.free_times import free_starts, today_in
from tests.support.identity import login, mails, text_part
from tests.support.live import free_port, serve

ORG = "sparkle-clean"
TZ = ZoneInfo("America/Edmonton")


def _today() -> date:
    return today_in(TZ)


async def test_demo_customer_books_and_pays(db_url: str, db: Database, tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        stripe_dev_checkout=True,
    )
    seeded = await seed_demo(settings, show_progress=False)
    assert seeded["demo history"]["bookings"] > 60  # a month of jobs on two teams
    with serve(create_app(settings), port=port) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            booking = await _customer_books(http)
            checkout = booking["checkout_url"]
            assert checkout.startswith(f"{url}/dev/stripe/pay/cs_test_")
            page = await http.get(f"/booking/{booking['id']}/pay", follow_redirects=True)
            assert page.status_code == 200
            assert str(page.url) == checkout
            assert f"{booking['deposit_cents'] // 100}." in page.text
            paid = await http.post(checkout, follow_redirects=True)
            assert paid.status_code == 200, paid.text
            assert urlsplit(str(paid.url)).path == f"/booking/{booking['id']}/paid"
            assert "confirmed" in paid.text
            assert "CONFIRMED" in paid.text

            password = settings.demo_password.get_secret_value()
            owner = await login(http, f"owner@{ORG}.example.com", password)
            seen = await http.get(f"/v1/admin/bookings/{booking['id']}", headers=owner.auth)
            assert seen.json()["status"] == "CONFIRMED"
            month = await http.get(
                "/v1/admin/metrics",
                params={"from": str(_today() - timedelta(days=30)), "to": str(_today())},
                headers=owner.auth,
            )
            assert month.status_code == 200, month.text
            assert month.json()["bookings"] > 30
            assert month.json()["revenue_cents"] > 0
            assert month.json()["duration_samples"] > 10
            assert 0 < month.json()["duration_accuracy_bps"] < 10_000

    async with db.unit_of_work(system=True) as s:
        row = await s.get(Booking, uuid.UUID(booking["id"]))
        assert row is not None
        assert row.status == "CONFIRMED"
        assert row.hold_expires_at is None
        payment = await s.scalar(select(Payment).where(Payment.booking_id == row.id))
        assert payment is not None
        assert payment.status == "paid"
        charged = await s.scalar(select(LedgerEntry.amount_cents).filter_by(payment_id=payment.id))
        assert charged == booking["deposit_cents"]
        events = await s.scalar(select(func.count()).select_from(ExternalEvent))
        assert events == 1

    container = Container.from_settings(settings)
    try:
        await container.dispatcher("tests").drain()
    finally:
        await container.close()
    sent = {m["Subject"]: text_part(m) for m in mails(tmp_path) if m["To"] == "sam@example.com"}
    assert len(sent) == 2, list(sent)
    pending, confirmed = sorted(sent, key=lambda subject: "confirmed" in subject.lower())
    assert "confirmed" in confirmed.lower()
    assert "holding" in sent[pending]
    assert f"/booking/{booking['id']}/pay" in sent[pending]  # the pay link


async def _customer_books(http: httpx.AsyncClient) -> dict:
    inputs = {"beds": 2, "baths": 1}
    price = await http.post(f"/v1/estimate?org={ORG}", json=inputs)
    assert price.status_code == 200, price.text
    assert price.json()["subtotal_cents"] == 105_00
    assert price.json()["currency"] == "CAD"
    lead = await http.post(
        f"/v1/leads?org={ORG}",
        json={"name": "Sam Client", "email": "sam@example.com", "inputs": inputs},
    )
    assert lead.status_code == 201, lead.text
    minutes = int(price.json()["time_on_site_hours"] * 60)
    free = await free_starts(http, ORG, duration_minutes=minutes, skip_days=10)
    booked = await http.post(
        f"/v1/bookings?org={ORG}",
        json={
            "name": "Sam Client",
            "email": "sam@example.com",
            "start": free[0].isoformat(),
            "inputs": inputs,
            "lead_id": lead.json()["id"],
        },
    )
    assert booked.status_code == 201, booked.text
    body: dict = booked.json()
    assert body["deposit_required"]
    assert "new_client" in body["deposit_reasons"]
    return body


async def test_the_demo_keeps_free_time_on_every_working_day(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    """Whatever day it is seeded, each working day of the booked fortnight has a free
    four-hour start (the last team's afternoon), as the app offers it."""
    settings = make_settings(db_url, var_dir=tmp_path)
    await seed_demo(settings, show_progress=False)
    async with app_client(settings) as api:
        free = await free_starts(api, ORG, duration_minutes=240, skip_days=1, days=14)
    free_days = {x.astimezone(TZ).date() for x in free}
    tomorrow = _today() + timedelta(days=1)
    working = [tomorrow + timedelta(days=i) for i in range(14)]
    working = [day for day in working if day.weekday() < 6]  # Monday to Saturday
    assert [day for day in working if day not in free_days] == []
