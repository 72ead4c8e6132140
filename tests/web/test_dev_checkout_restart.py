"""The demo's test checkout (``SERVIO_STRIPE_DEV_CHECKOUT``) across a restart: a second
app on the same database and var directory makes new, unique Checkout Session and
event ids, still finds the sessions the first one made, and each customer's pay link
opens that customer's own checkout."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.domains.payments.models import Payment
from servio.integrations.stripe_dev import DevStripe, FileSessions
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.inbox import ExternalEvent
from servio.web.app import create_app
from tests.conftest import make_settings
from tests.support.bookings import business
from tests.support.live import free_port, serve

INPUTS = {"beds": 2, "baths": 1}


async def _book(http: httpx.AsyncClient, org: str, day: str, email: str) -> dict:
    """A new client books the first time the app offers: a deposit is due."""
    price = await http.post(f"/v1/estimate?org={org}", json=INPUTS)
    minutes = int(price.json()["time_on_site_hours"] * 60)
    slots = await http.get(
        "/v1/slots", params={"org": org, "date": day, "duration_minutes": minutes, "days": 7}
    )
    free = slots.json()["slots"]
    assert free, slots.text
    booked = await http.post(
        f"/v1/bookings?org={org}",
        json={"name": email.split("@")[0], "email": email, "start": free[0]["start"]}
        | {"inputs": INPUTS},
    )
    assert booked.status_code == 201, booked.text
    body: dict = booked.json()
    assert body["deposit_required"], body
    return body


def _settings(db_url: str, var_dir: Path, port: int) -> Settings:
    return make_settings(
        db_url, var_dir=var_dir, public_url=f"http://127.0.0.1:{port}", stripe_dev_checkout=True
    )


async def test_a_restarted_demo_makes_new_checkouts_and_keeps_the_old_ones(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    port = free_port()
    app = create_app(_settings(db_url, tmp_path, port))
    with serve(app, port=port) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            owner, start = await business(http, db)
            first = await _book(http, owner.org_slug, start.date().isoformat(), "ann@example.com")
    await app.state.container.close()

    # The demo restarts: a new process, the same database and ./var.
    app = create_app(_settings(db_url, tmp_path, port))
    with serve(app, port=port) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            second = await _book(http, owner.org_slug, start.date().isoformat(), "bo@example.com")
            assert second["checkout_url"] != first["checkout_url"]
            for booking, email in ((first, "ann@example.com"), (second, "bo@example.com")):
                page = await http.get(f"/booking/{booking['id']}/pay", follow_redirects=True)
                assert page.status_code == 200, page.text
                assert str(page.url) == booking["checkout_url"]
                assert email in page.text  # this customer's checkout, no one else's
                paid = await http.post(booking["checkout_url"], follow_redirects=True)
                assert paid.status_code == 200, paid.text
                assert urlsplit(str(paid.url)).path == f"/booking/{booking['id']}/paid"
    await app.state.container.close()

    async with db.unit_of_work(system=True) as s:
        payments = list(await s.scalars(select(Payment).order_by(Payment.created_at)))
        sessions = [p.checkout_session_id for p in payments]
        assert len(set(sessions)) == 2
        assert all(p.status == "paid" for p in payments)
        for booking in (first, second):
            row = await s.get(Booking, uuid.UUID(booking["id"]))
            assert row is not None
            assert row.status == "CONFIRMED"
        events = list(await s.scalars(select(ExternalEvent.event_id)))
        assert len(events) == len(set(events)) == 2
    assert all(sid and sid.startswith("cs_test_") and len(sid) > 20 for sid in sessions)


async def _create(dev: DevStripe, key: str, email: str) -> dict:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=dev.app)) as http:
        r = await http.post(
            "http://dev/v1/checkout/sessions",
            data={
                "customer_email": email,
                "line_items[0][price_data][unit_amount]": "5000",
                "line_items[0][price_data][currency]": "cad",
                "success_url": "http://app/ok",
                "cancel_url": "http://app/no",
            },
            headers={"Authorization": "Bearer sk_test_dev", "Idempotency-Key": key},
        )
        assert r.status_code == 200, r.text
        body: dict = r.json()
        return body


async def test_the_stand_in_keeps_sessions_on_disk_under_random_ids(tmp_path: Path) -> None:
    before = DevStripe(store=FileSessions(tmp_path / "dev-stripe"))
    first = await _create(before, "deposit:1", "ann@example.com")
    after = DevStripe(store=FileSessions(tmp_path / "dev-stripe"))  # a restart
    second = await _create(after, "deposit:2", "bo@example.com")
    assert first["id"] != second["id"]
    assert first["id"].startswith("cs_test_")
    assert len(first["id"]) == len("cs_test_") + 24
    assert (await _create(after, "deposit:1", "other@example.com"))["id"] == first["id"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=after.app)) as http:
        page = await http.get(f"http://dev/pay/{first['id']}")
        assert page.status_code == 200
        assert "ann@example.com" in page.text
        assert "bo@example.com" not in page.text
        outside = await http.get("http://dev/pay/..%2F..%2Fsecrets")
        assert outside.status_code == 404
    assert set(after.sessions) == {first["id"], second["id"]}
