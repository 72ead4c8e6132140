"""The public booking page ``/b/{org_slug}`` over ASGI: the page and its live fragments
(estimate, free times), errors beside their fields with what the customer typed, one
booking per idempotency key, the deposit checkout, the confirmation page and its
calendar file, and Turnstile when configured. What only renders runs on SQLite; the
bookings the page makes (once per key, a taken time, the deposit) on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servio.domains.bookings.models import Booking, BookingEvent
from servio.domains.identity import service as identity
from servio.platform.db import Database, utcnow
from tests.conftest import SQLITE_ONLY, make_settings
from tests.support.app import app_client
from tests.support.bookings import TZ, business
from tests.support.fake_stripe import served
from tests.support.live import serve

HTML = {"Accept": "text/html"}
HTMX = {"HX-Request": "true", "Accept": "text/html"}


def form(start: datetime, **extra: str) -> dict[str, str]:
    return {
        "beds": "2",
        "baths": "1",
        "cleaning_type": "standard",
        "frequency": "one_time",
        "date": start.date().isoformat(),
        "slot": start.isoformat(),
        "name": "Jo Doe",
        "email": "jo@example.com",
        "phone": "",
        "notes": "",
    } | extra


async def bookings_count(db: Database) -> int:
    async with db.unit_of_work(system=True) as s:
        return int(await s.scalar(select(func.count()).select_from(Booking)) or 0)


async def no_deposit(db: Database, org_id: uuid.UUID) -> None:
    """The org takes no deposit from new clients (the estimate alone needs none)."""
    async with db.unit_of_work(system=True) as s:
        await identity.put_setting(s, org_id, "deposit.new_client", False)


@SQLITE_ONLY
async def test_the_page_shows_the_business_its_questions_and_an_estimate(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, _ = await business(api, db)
    page = await api.get(f"/b/{owner.org_slug}", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Book with Bright Homes</h1>" in page.text
    for question in ("Bedrooms", "Bathrooms", "Move-out (empty)", "Every two weeks", "Oven"):
        assert question in page.text
    assert "$105.00" in page.text  # 2 beds, 1 bath: 3 h at $35, no tax
    assert 'data-idempotency-key="' in page.text
    assert "data-once" in page.text
    assert "Pick a day to see the free times." in page.text
    assert "cf-turnstile" not in page.text
    assert "challenges.cloudflare.com" not in page.headers["content-security-policy"]
    missing = await api.get("/b/no-such-business", headers=HTML)
    assert missing.status_code == 404
    assert "<h1>Page not found</h1>" in missing.text


@SQLITE_ONLY
async def test_the_estimate_fragment_prices_the_answers_in_the_readers_locale(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, _ = await business(api, db)
    answers = {"beds": "3", "baths": "2", "add_on": "oven", "qty.linen_beds": "2"}
    panel = await api.post(f"/b/{owner.org_slug}/estimate", data=answers, headers=HTMX)
    assert panel.status_code == 200
    assert "<html" not in panel.text  # a fragment
    # 4 h at $35 = $140, oven $30, linen 2 x $10 = $190
    assert 'data-total="19000"' in panel.text
    assert "$190.00" in panel.text
    assert "Oven" in panel.text
    assert "Linen beds \u00d7 2" in panel.text
    french = await api.post(
        f"/b/{owner.org_slug}/estimate",
        data=answers,
        headers=HTMX | {"Accept-Language": "fr-CA,fr;q=0.9"},
    )
    assert "190,00\xa0$" in french.text
    bad = await api.post(f"/b/{owner.org_slug}/estimate", data={"beds": "99", "baths": "1"})
    assert bad.status_code == 422
    assert "We cannot price these answers." in bad.text


@SQLITE_ONLY
async def test_the_slots_fragment_lists_a_days_free_times(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    day = start.date().isoformat()
    times = await api.get(
        f"/b/{owner.org_slug}/slots", params={"date": day, "beds": "2", "baths": "1"}
    )
    assert times.status_code == 200
    assert f'value="{start.isoformat()}"' in times.text
    assert "9:00" in times.text
    empty = await api.get(f"/b/{owner.org_slug}/slots", params={"beds": "2", "baths": "1"})
    assert "Pick a day to see the free times." in empty.text
    past = (utcnow().astimezone(TZ) - timedelta(days=2)).date().isoformat()
    gone = await api.get(f"/b/{owner.org_slug}/slots", params={"date": past, "beds": "2"})
    assert "is in the past" in gone.text


@SQLITE_ONLY
async def test_errors_show_beside_their_fields_and_keep_what_was_typed(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    url = f"/b/{owner.org_slug}/book"
    typed = form(start, slot="", name="Jo Doe", email="jo@", phone="12", notes="Cat inside")
    r = await api.post(url, data=typed, headers=HTMX)
    assert r.status_code == 422
    assert 'id="slot-error">Pick a time for the visit.' in r.text
    assert 'value="Jo Doe"' in r.text
    assert 'value="jo@"' in r.text
    assert ">Cat inside</textarea>" in r.text
    assert "<html" not in r.text
    assert 'id="booking"' in r.text
    # the domain's own checks (email, then phone) come back beside their fields too
    r = await api.post(url, data=form(start, email="jo@"), headers=HTMX)
    assert r.status_code == 422
    assert 'id="email-error"' in r.text
    assert 'aria-invalid="true"' in r.text
    r = await api.post(url, data=form(start, phone="12"), headers=HTMX)
    assert r.status_code == 422
    assert 'id="phone-error"' in r.text
    yesterday = start - timedelta(days=10)
    r = await api.post(url, data=form(yesterday), headers=HTMX)
    assert r.status_code == 422
    assert 'id="slot-error">' in r.text
    assert "already passed" in r.text
    plain = await api.post(url, data=form(start, name=""), headers=HTML)
    assert plain.status_code == 422
    assert "<html" in plain.text
    assert 'id="name-error"' in plain.text
    assert await bookings_count(db) == 0


async def test_the_same_idempotency_key_books_once_and_a_taken_time_is_a_409(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    await no_deposit(db, owner.org_id)
    url = f"/b/{owner.org_slug}/book"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = form(start, notes="Key under the mat")
    first = await api.post(url, data=body, headers=HTMX | key)
    again = await api.post(url, data=body, headers=HTMX | key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["hx-redirect"] == first.headers["hx-redirect"]
    assert first.headers["hx-redirect"].startswith(f"/b/{owner.org_slug}/booking/")
    assert await bookings_count(db) == 1
    async with db.unit_of_work(system=True) as s:
        [event] = await s.scalars(select(BookingEvent).where(BookingEvent.kind == "created"))
    assert event.detail["notes"] == "Key under the mat"
    other = {"Idempotency-Key": uuid.uuid4().hex}
    taken = await api.post(url, data=form(start, email="sam@example.com"), headers=HTMX | other)
    assert taken.status_code == 409
    assert "That time was just taken" in taken.text
    assert 'value="sam@example.com"' in taken.text
    assert await bookings_count(db) == 1


@SQLITE_ONLY
async def test_the_confirmation_page_and_its_calendar_file(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    await no_deposit(db, owner.org_id)
    done = await api.post(f"/b/{owner.org_slug}/book", data=form(start), headers=HTMX)
    path = done.headers["hx-redirect"]
    page = await api.get(path, headers=HTML)
    assert page.status_code == 200
    reference = path.rsplit("/", 1)[1][:8].upper()
    assert f"<h1>Booking {reference}</h1>" in page.text
    assert start.strftime("%B") in page.text
    assert "9:00" in page.text
    assert "None needed" in page.text
    assert "Standard cleaning, 2 bedroom(s)" in page.text
    assert "jo@example.com" not in page.text
    assert f'href="{path}.ics"' in page.text
    ics = await api.get(f"{path}.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "attachment" in ics.headers["content-disposition"]
    [event] = Calendar.from_ical(ics.content).walk("VEVENT")
    assert event.decoded("dtstart") == start.astimezone(UTC)
    assert str(event["summary"]) == "Booking with Bright Homes"
    unknown = f"/b/{owner.org_slug}/booking/{uuid.uuid4()}"
    assert (await api.get(unknown, headers=HTML)).status_code == 404
    assert (await api.get(f"{unknown}.ics", headers=HTML)).status_code == 404
    stranger, _ = await business(api, db, owner_email="bo@example.com")
    elsewhere = path.replace(owner.org_slug, stranger.org_slug)
    assert (await api.get(elsewhere, headers=HTML)).status_code == 404


async def test_a_deposit_sends_the_customer_to_checkout_and_back_to_the_confirmation(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    with served() as (fake, stripe_url):
        settings = make_settings(
            db_url,
            var_dir=tmp_path,
            stripe_api_key="sk_test_123",
            stripe_webhook_secret="whsec_test",
            stripe_api_base=stripe_url,
            public_url="https://book.example.com",
        )
        async with app_client(settings, raise_errors=False) as api:
            owner, start = await business(api, db)
            r = await api.post(f"/b/{owner.org_slug}/book", data=form(start), headers=HTMX)
            assert r.status_code == 200, r.text
            assert r.headers["hx-redirect"] == "https://checkout.stripe.test/pay/cs_test_1"
            assert "Continue to the deposit payment" in r.text
            session = fake.sessions["cs_test_1"]
            booking_id = session["metadata"]["booking_id"]
            back = f"/b/{owner.org_slug}/booking/{booking_id}"
            assert session["success_url"] == f"https://book.example.com{back}"
            assert session["cancel_url"] == f"https://book.example.com{back}?payment=cancelled"
            held = await api.get(f"{back}?payment=cancelled", headers=HTML)
            assert "The payment was not completed" in held.text
            assert 'href="https://checkout.stripe.test/pay/cs_test_1"' in held.text
            assert "not paid yet" in held.text
            plain = await api.post(
                f"/b/{owner.org_slug}/book", data=form(start + timedelta(hours=5)), headers=HTML
            )
            assert plain.status_code == 303
            assert plain.headers["location"] == "https://checkout.stripe.test/pay/cs_test_2"


@pytest.fixture
def turnstile() -> Iterator[str]:
    async def siteverify(request: Request) -> JSONResponse:
        data = await request.form()
        ok = data.get("secret") == "ts-secret" and data.get("response") == "good-token"
        return JSONResponse({"success": ok})

    with serve(Starlette(routes=[Route("/siteverify", siteverify, methods=["POST"])])) as url:
        yield f"{url}/siteverify"


@SQLITE_ONLY
async def test_turnstile_shows_its_widget_and_is_verified_before_booking(
    db_url: str, db: Database, tmp_path: Path, turnstile: str
) -> None:
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        turnstile_secret="ts-secret",
        turnstile_verify_url=turnstile,
        turnstile_site_key="0x4AAA-site",
    )
    async with app_client(settings, raise_errors=False) as api:
        owner, start = await business(api, db)
        await no_deposit(db, owner.org_id)
        page = await api.get(f"/b/{owner.org_slug}", headers=HTML)
        assert 'class="cf-turnstile" data-sitekey="0x4AAA-site"' in page.text
        assert "https://challenges.cloudflare.com/turnstile/v0/api.js" in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self' https://challenges.cloudflare.com" in policy
        assert "frame-src https://challenges.cloudflare.com" in policy
        url = f"/b/{owner.org_slug}/book"
        refused = await api.post(url, data=form(start), headers=HTMX)
        assert refused.status_code == 422
        assert 'id="captcha-error"' in refused.text
        wrong = form(start) | {"cf-turnstile-response": "bad"}
        assert (await api.post(url, data=wrong, headers=HTMX)).status_code == 422
        assert await bookings_count(db) == 0
        good = form(start) | {"cf-turnstile-response": "good-token"}
        assert (await api.post(url, data=good, headers=HTMX)).status_code == 200
        assert await bookings_count(db) == 1


@SQLITE_ONLY
async def test_a_business_without_an_online_price_list_shows_an_empty_state(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    async with db.unit_of_work(system=True) as s:
        (await identity.get_org(s, owner.org_id)).vertical = "tattoo"
    page = await api.get(f"/b/{owner.org_slug}", headers=HTML)
    assert page.status_code == 200
    assert "Online booking is not open for Bright Homes yet." in page.text
    r = await api.post(f"/b/{owner.org_slug}/book", data=form(start), headers=HTMX)
    assert r.status_code == 422
    assert "No price list for the &#39;tattoo&#39; vertical." in r.text
    assert await bookings_count(db) == 0
