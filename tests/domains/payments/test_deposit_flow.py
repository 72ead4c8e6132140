"""One booking-with-deposit flow for the API and the booking page, with no network call
inside a database transaction: the hold commits first, Stripe (a local fake that can
answer slowly or fail) is called outside any transaction with the idempotency key
``deposit:{booking_id}``, and its checkout is kept in a second short transaction.
While Stripe is slow other writers go on; while it is down the booking stays a PENDING
hold that expires by itself, and the same request sent again opens the checkout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servio.domains.bookings import service as bookings
from servio.domains.bookings.models import Booking
from servio.domains.payments.models import Payment
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.bookings import business
from tests.support.fake_stripe import FakeStripe, served
from tests.support.identity import Account
from tests.support.live import free_port

HTML = {"Accept": "text/html"}
HTMX = {"HX-Request": "true", "Accept": "text/html"}


@dataclass
class Shop:
    api: httpx.AsyncClient
    owner: Account
    fake: FakeStripe


def _settings(db_url: str, tmp_path: Path, stripe_url: str) -> Settings:
    return make_settings(
        db_url,
        var_dir=tmp_path,
        stripe_api_key="sk_test_123",
        stripe_webhook_secret="whsec_test",
        stripe_api_base=stripe_url,
        public_url="https://book.example.com",
    )


@pytest.fixture
async def shop(db_url: str, db: Database, tmp_path: Path) -> AsyncIterator[Shop]:
    with served() as (fake, url):
        settings = _settings(db_url, tmp_path, url)
        async with app_client(settings, raise_errors=False) as api:
            owner, _ = await business(api, db)
            yield Shop(api, owner, fake)


async def free_start(api: httpx.AsyncClient, owner: Account, minutes: int = 120) -> str:
    """The first free start the app offers for a job of ``minutes``, a day or more ahead
    (so the hold and the deposit do not depend on the hour the test runs)."""
    day = (utcnow() + timedelta(days=2)).date().isoformat()
    r = await api.get(
        "/v1/slots",
        params={"org": owner.org_slug, "date": day, "duration_minutes": minutes, "days": 7},
    )
    assert r.status_code == 200, r.text
    slots = r.json()["slots"]
    assert slots, "the business has free times"
    return str(slots[0]["start"])


def booking_body(start: str) -> dict[str, object]:
    return {
        "customer": {"name": "Jo Doe", "email": "jo@example.com"},
        "start": start,
        "duration_minutes": 120,
    }


async def stored(db: Database) -> tuple[list[Booking], list[Payment]]:
    async with db.unit_of_work(system=True) as s:
        found = list(await s.scalars(select(Booking).order_by(Booking.created_at)))
        paid = list(await s.scalars(select(Payment).order_by(Payment.created_at)))
    return found, paid


async def test_a_lead_is_taken_while_a_booking_waits_on_stripe(shop: Shop, db: Database) -> None:
    shop.fake.delay_seconds = 2.0
    start = await free_start(shop.api, shop.owner)
    url = f"/v1/bookings?org={shop.owner.org_slug}"
    booking = asyncio.create_task(shop.api.post(url, json=booking_body(start)))
    for _ in range(200):  # until the booking's checkout request reached Stripe
        if shop.fake.waiting:
            break
        await asyncio.sleep(0.01)
    assert shop.fake.waiting == 1, "the booking is waiting on Stripe"

    lead = await shop.api.post(
        f"/v1/leads?org={shop.owner.org_slug}",
        json={"name": "Sam Roe", "email": "sam@example.com", "phone": "+14035550123"},
    )
    assert not booking.done(), "the lead was answered while Stripe was still thinking"
    assert lead.status_code == 201, lead.text
    assert lead.json()["status"] == "NEW"

    done = await booking
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["checkout_url"] == "https://checkout.stripe.test/pay/cs_test_1"
    [sent] = shop.fake.checkout_requests
    assert (sent.idempotency_key, sent.answered) == (f"deposit:{body['id']}", 200)
    [held], [payment] = await stored(db)
    assert (str(held.id), held.status) == (body["id"], "PENDING")
    assert (payment.checkout_session_id, payment.checkout_url) == (
        "cs_test_1",
        body["checkout_url"],
    )


async def test_stripe_down_leaves_a_pending_hold_and_the_same_request_later_opens_it(
    shop: Shop, db: Database
) -> None:
    shop.fake.fail_status = 500
    start = await free_start(shop.api, shop.owner)
    url = f"/v1/bookings?org={shop.owner.org_slug}"
    down = await shop.api.post(url, json=booking_body(start))
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/problem+json")
    assert down.json()["type"].endswith("/problems/payment-provider-unavailable")
    assert int(down.headers["retry-after"]) > 0
    [held], [payment] = await stored(db)
    assert (held.status, held.deposit_required) == ("PENDING", True)
    assert held.hold_expires_at is not None
    assert held.hold_expires_at > utcnow()
    assert (payment.status, payment.amount_cents) == ("pending", held.deposit_cents)
    assert (payment.checkout_session_id, payment.checkout_url) == (None, None)
    assert shop.fake.sessions == {}
    assert {r.idempotency_key for r in shop.fake.checkout_requests} == {f"deposit:{held.id}"}
    assert {r.answered for r in shop.fake.checkout_requests} == {500}

    doc = await shop.api.get("/problems/payment-provider-unavailable")
    assert (doc.status_code, doc.json()["status"]) == (200, 503)

    shop.fake.fail_status = None  # Stripe is back: the same request resumes the hold
    again = await shop.api.post(url, json=booking_body(start))
    assert again.status_code == 201, again.text
    body = again.json()
    assert (body["id"], body["status"]) == (str(held.id), "PENDING")
    assert body["checkout_url"] == "https://checkout.stripe.test/pay/cs_test_1"
    last = shop.fake.checkout_requests[-1]
    assert (last.idempotency_key, last.answered) == (f"deposit:{held.id}", 200)
    assert shop.fake.sessions["cs_test_1"]["metadata"]["booking_id"] == str(held.id)
    [same], [opened] = await stored(db)
    assert (same.id, opened.id) == (held.id, payment.id)
    assert (opened.checkout_session_id, opened.checkout_url) == ("cs_test_1", body["checkout_url"])


async def test_a_hold_left_by_a_failed_checkout_expires_by_itself(shop: Shop, db: Database) -> None:
    shop.fake.fail_status = 503
    start = await free_start(shop.api, shop.owner)
    url = f"/v1/bookings?org={shop.owner.org_slug}"
    assert (await shop.api.post(url, json=booking_body(start))).status_code == 503
    [held], _ = await stored(db)
    assert held.hold_expires_at is not None
    async with db.unit_of_work(shop.owner.org_id) as s:
        later = held.hold_expires_at + timedelta(seconds=1)
        assert await bookings.expire_holds(s, shop.owner.org_id, later) == 1
    [gone], [payment] = await stored(db)
    assert gone.status == "EXPIRED"
    assert (payment.status, payment.checkout_session_id) == ("pending", None)
    shop.fake.fail_status = None  # a late retry of an expired hold books afresh
    fresh = await shop.api.post(url, json=booking_body(start))
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["id"] != str(held.id)


async def test_stripe_unreachable_answers_503_and_writes_no_checkout(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with app_client(_settings(db_url, tmp_path, closed), raise_errors=False) as api:
        owner, _ = await business(api, db)
        start = await free_start(api, owner)
        r = await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))
    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("/problems/payment-provider-unavailable")
    assert "retry-after" in r.headers
    [held], [payment] = await stored(db)
    assert (held.status, payment.status, payment.checkout_url) == ("PENDING", "pending", None)


async def test_the_booking_page_goes_through_the_same_flow(shop: Shop, db: Database) -> None:
    start = await free_start(shop.api, shop.owner, minutes=180)
    form = {
        "beds": "2",
        "baths": "1",
        "cleaning_type": "standard",
        "frequency": "one_time",
        "date": start[:10],
        "slot": start,
        "name": "Jo Doe",
        "email": "jo@example.com",
        "phone": "",
        "notes": "",
    }
    page = f"/b/{shop.owner.org_slug}/book"
    shop.fake.fail_status = 500
    down = await shop.api.post(page, data=form, headers=HTMX)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("text/html")
    assert "We could not reach the payment service" in down.text
    assert "retry-after" in down.headers
    [held], [payment] = await stored(db)
    assert (held.status, payment.checkout_url) == ("PENDING", None)
    assert {r.idempotency_key for r in shop.fake.checkout_requests} == {f"deposit:{held.id}"}

    shop.fake.fail_status = None
    sent = await shop.api.post(page, data=form, headers=HTMX)
    assert sent.status_code == 200, sent.text
    assert sent.headers["hx-redirect"] == "https://checkout.stripe.test/pay/cs_test_1"
    last = shop.fake.checkout_requests[-1]
    assert (last.idempotency_key, last.answered) == (f"deposit:{held.id}", 200)
    session = shop.fake.sessions["cs_test_1"]
    back = f"https://book.example.com/b/{shop.owner.org_slug}/booking/{held.id}"
    assert (session["success_url"], session["cancel_url"]) == (back, f"{back}?payment=cancelled")
    [same], [opened] = await stored(db)
    assert (same.id, opened.checkout_session_id) == (held.id, "cs_test_1")


async def test_the_emailed_pay_link_opens_the_checkout_stripe_could_not(
    shop: Shop, db: Database
) -> None:
    shop.fake.fail_status = 500
    start = await free_start(shop.api, shop.owner)
    url = f"/v1/bookings?org={shop.owner.org_slug}"
    assert (await shop.api.post(url, json=booking_body(start))).status_code == 503
    [held], _ = await stored(db)
    still_down = await shop.api.get(f"/booking/{held.id}/pay", headers=HTML)
    assert still_down.status_code == 503, still_down.text
    assert "We could not reach the payment service" in still_down.text
    assert "retry-after" in still_down.headers

    shop.fake.fail_status = None
    back = await shop.api.get(f"/booking/{held.id}/pay", headers=HTML)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "https://checkout.stripe.test/pay/cs_test_1"
    last = shop.fake.checkout_requests[-1]
    assert (last.idempotency_key, last.answered) == (f"deposit:{held.id}", 200)
    session = shop.fake.sessions["cs_test_1"]
    assert session["success_url"] == f"https://book.example.com/booking/{held.id}/paid"
    _, [payment] = await stored(db)
    opened = back.headers["location"]
    assert (payment.checkout_session_id, payment.checkout_url) == ("cs_test_1", opened)
    again = await shop.api.get(f"/booking/{held.id}/pay", headers=HTML)
    assert again.headers["location"] == back.headers["location"]
    assert len([r for r in shop.fake.checkout_requests if r.answered == 200]) == 1


async def test_a_refusal_by_stripe_is_a_502_on_the_api_and_a_word_on_the_page(
    shop: Shop, db: Database
) -> None:
    shop.fake.fail_status = 400  # a request Stripe will not take, however often it is sent
    start = await free_start(shop.api, shop.owner)
    refused = await shop.api.post(
        f"/v1/bookings?org={shop.owner.org_slug}", json=booking_body(start)
    )
    assert refused.status_code == 502, refused.text
    assert refused.json()["type"].endswith("/problems/payment-provider-refused")
    assert len(shop.fake.checkout_requests) == 1  # not retried
    later = await free_start(shop.api, shop.owner, minutes=180)
    form = {
        "beds": "2",
        "baths": "1",
        "cleaning_type": "standard",
        "frequency": "one_time",
        "date": later[:10],
        "slot": later,
        "name": "Sam Roe",
        "email": "sam@example.com",
        "phone": "",
        "notes": "",
    }
    page = await shop.api.post(f"/b/{shop.owner.org_slug}/book", data=form, headers=HTMX)
    assert page.status_code == 502, page.text
    assert "did not accept the deposit" in page.text
    held, payments = await stored(db)
    assert [b.status for b in held] == ["PENDING", "PENDING"]
    assert [(p.status, p.checkout_url) for p in payments] == [("pending", None)] * 2
    assert shop.fake.sessions == {}
