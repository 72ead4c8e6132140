"""The staff console's bookings pages over ASGI: the dashboard's today list, figures and
chart data, the day and week board, the bookings list, and a booking's page with its
timeline and moves (reschedule, cancel, refusals shown inline, roles, unknown ids)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, time, timedelta

import httpx
from sqlalchemy import select

from servio.domains.bookings import service
from servio.domains.bookings.models import Booking
from servio.domains.catalog import service as catalog
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from tests.support.app import app_of
from tests.support.bookings import TZ, booking_body, business
from tests.support.identity import PASSWORD, Account, invite

HTML = {"Accept": "text/html"}


async def sign_in(api: httpx.AsyncClient, who: Account) -> None:
    r = await api.post("/app/login", data={"email": who.email, "password": PASSWORD})
    assert r.status_code == 303, r.text


def htmx(api: httpx.AsyncClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": api.cookies["servio_csrf"]}


async def booked_today(api: httpx.AsyncClient, db: Database, owner: Account) -> Booking:
    """A booking at 10:00 today in the business's zone, taken as if asked yesterday."""
    today = utcnow().astimezone(TZ).date()
    async with db.unit_of_work(owner.org_id) as s:
        b = await service.create(
            s,
            app_of(api).state.container.catalog,
            owner.org_id,
            service.BookingRequest(
                name="Tess Today",
                email="tess@example.com",
                phone=None,
                start=datetime.combine(today, time(10), tzinfo=TZ),
                inputs=catalog.EstimateIn(beds=2, baths=1),  # type: ignore[arg-type]
                duration_minutes=None,
                resource_id=None,
                lead_id=None,
            ),
            now=datetime.combine(today - timedelta(days=1), time(0), tzinfo=TZ),
        )
        return b


async def booked(api: httpx.AsyncClient, owner: Account, start: datetime, **extra: object) -> dict:
    r = await api.post(
        "/v1/bookings", json=booking_body(start, **extra), params={"org": owner.org_slug}
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def chart(page: str, key: str) -> dict:
    found = re.search(
        rf'<script type="application/json" id="chart-{key}">(.*?)</script>', page, re.S
    )
    assert found, f"no chart {key}"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


async def row(db: Database, booking_id: uuid.UUID | str) -> Booking:
    async with db.unit_of_work(system=True) as s:
        found = await s.scalar(select(Booking).where(Booking.id == uuid.UUID(str(booking_id))))
    assert found is not None
    return found


async def test_dashboard_lists_today_and_charts_the_month(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, _ = await business(api, db)
    await sign_in(api, owner)
    empty = await api.get("/app")
    assert empty.status_code == 200
    assert "No bookings today." in empty.text
    b = await booked_today(api, db, owner)
    r = await api.post(f"/v1/admin/bookings/{b.id}/confirm", headers=owner.auth)
    assert r.status_code == 200, r.text
    page = await api.get("/app")
    assert page.status_code == 200
    assert "Tess Today" in page.text
    assert f'href="/app/bookings/{b.id}"' in page.text
    assert "10:00" in page.text  # in the business's zone, not UTC
    assert "vendor/chart.umd.min.js" in page.text
    assert re.search(r'data-stat="bookings">1<', page.text)
    bookings = chart(page.text, "bookings")
    assert bookings["type"] == "bar"
    assert len(bookings["data"]["labels"]) == 30
    assert bookings["data"]["datasets"][0]["data"][-1] == 1
    assert sum(bookings["data"]["datasets"][0]["data"]) == 1
    revenue = chart(page.text, "revenue")["data"]["datasets"][0]["data"]
    assert revenue[-1] == (b.subtotal_cents or 0) / 100 > 0
    deposits = chart(page.text, "deposits")["data"]["datasets"][0]["data"]
    assert deposits[-1] == (100.0 if b.deposit_required else 0.0)
    funnel = chart(page.text, "funnel")
    assert funnel["data"]["labels"] == ["NEW", "CONTACTED", "QUOTED", "BOOKED"]
    assert 'canvas data-chart="chart-funnel"' in page.text
    assert "<script>" not in page.text  # no inline code under the CSP
    today = utcnow().astimezone(TZ).date()
    period = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    same = (await api.get("/v1/admin/metrics", params=period, headers=owner.auth)).json()
    assert re.search(rf'data-stat="bookings">{same["bookings"]}<', page.text)
    assert re.search(rf'data-stat="leads">{same["leads"]}<', page.text)
    assert f'data-stat="deposit-rate">{same["deposit_rate_bps"] / 100:.1f} %<' in page.text
    assert revenue[-1] * 100 == same["revenue_cents"]


async def test_board_shows_the_booking_under_its_team_by_day_and_week(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    b = await booked(api, owner, start)
    await sign_in(api, owner)
    day = await api.get("/app/board", params={"day": start.date().isoformat()})
    assert day.status_code == 200
    assert "Team A" in day.text
    assert f'href="/app/bookings/{b["id"]}"' in day.text
    assert "09:00" in day.text
    assert f"day={(start.date() + timedelta(days=1)).isoformat()}" in day.text  # next
    week = await api.get("/app/board", params={"day": start.date().isoformat(), "view": "week"})
    assert week.status_code == 200
    assert f'href="/app/bookings/{b["id"]}"' in week.text
    body = week.text.split("<tbody>")[1]
    assert body.index("Team A") < body.index(b["id"])
    assert f"day={(start.date() - timedelta(days=7)).isoformat()}" in week.text  # previous
    other = await api.get(
        "/app/board", params={"day": (start.date() + timedelta(days=14)).isoformat()}
    )
    assert b["id"] not in other.text
    assert "Nothing booked this day." in other.text


async def test_bookings_list_filters_by_name_status_and_dates(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    jo = await booked(api, owner, start)
    max_ = await booked(
        api, owner, start + timedelta(days=1), name="Max Power", email="max@example.com"
    )
    await sign_in(api, owner)
    found = await api.get("/app/bookings", params={"q": "max"})
    assert max_["id"] in found.text
    assert jo["id"] not in found.text
    by_mail = await api.get("/app/bookings", params={"q": "JO@EXAMPLE"})
    assert jo["id"] in by_mail.text
    assert max_["id"] not in by_mail.text
    one_day = await api.get(
        "/app/bookings", params={"from": start.date().isoformat(), "to": start.date().isoformat()}
    )
    assert jo["id"] in one_day.text
    assert max_["id"] not in one_day.text
    cancelled = await api.get("/app/bookings", params={"status": "CANCELLED"})
    assert "No bookings match." in cancelled.text
    bad = await api.get("/app/bookings", params={"from": "2027-13-45", "q": "max"})
    assert bad.status_code == 422
    assert "Enter a date as YYYY-MM-DD." in bad.text
    assert 'value="max"' in bad.text  # what was typed is kept


async def test_booking_page_shows_timeline_and_reschedules(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    b = await booked(api, owner, start)
    await sign_in(api, owner)
    page = await api.get(f"/app/bookings/{b['id']}")
    assert page.status_code == 200
    assert "Jo Doe" in page.text
    assert "jo@example.com" in page.text
    assert "Timeline" in page.text
    assert "Created" in page.text
    assert "by customer" in page.text
    assert "Team A" in page.text
    later = start + timedelta(days=1)
    slots = await api.get(
        f"/app/bookings/{b['id']}/slots",
        params={"date": later.date().isoformat()},
        headers=htmx(api),
    )
    assert slots.status_code == 200
    assert f'value="{later.astimezone(UTC).isoformat()}"' in slots.text
    moved = await api.post(
        f"/app/bookings/{b['id']}/reschedule",
        data={
            "version": str(b["version"]),
            "date": later.date().isoformat(),
            "start": later.isoformat(),
        },
        headers=htmx(api),
    )
    assert moved.status_code == 200, moved.text
    assert 'id="booking-panel"' in moved.text
    assert "<html" not in moved.text
    assert "Booking moved" in moved.text
    assert "Rescheduled" in moved.text  # the timeline line
    assert f"by {owner.email}" in moved.text  # who, as people read it
    assert f"user:{owner.user_id}" not in moved.text
    assert (await row(db, b["id"])).starts_at == later


async def test_refusals_are_shown_inline_keeping_what_was_typed(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    b = await booked(api, owner, start)
    other = await booked(
        api, owner, start + timedelta(days=1), name="Al Other", email="al@example.com"
    )
    await sign_in(api, owner)
    taken = await api.post(
        f"/app/bookings/{b['id']}/reschedule",
        data={"date": (start + timedelta(days=1)).date().isoformat(), "start": other["start"]},
        headers=htmx(api),
    )
    assert taken.status_code == 409, taken.text
    assert "not free" in taken.text
    assert f'value="{(start + timedelta(days=1)).date().isoformat()}"' in taken.text
    missing = await api.post(
        f"/app/bookings/{b['id']}/reschedule", data={"date": "", "start": ""}, headers=htmx(api)
    )
    assert missing.status_code == 422
    assert "Pick one of the free times." in missing.text
    stale = await api.post(
        f"/app/bookings/{b['id']}/cancel",
        data={"version": "99", "reason": "Sick"},
        headers=htmx(api),
    )
    assert stale.status_code == 409
    assert "Someone changed this booking meanwhile" in stale.text
    assert ">Sick</textarea>" in stale.text
    assert (await row(db, b["id"])).status == "PENDING"


async def test_cancel_from_the_page(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    b = await booked(api, owner, start)
    await sign_in(api, owner)
    done = await api.post(
        f"/app/bookings/{b['id']}/cancel",
        data={"version": str(b["version"]), "reason": "Customer moved away"},
        headers=htmx(api),
    )
    assert done.status_code == 200, done.text
    assert 'data-status="CANCELLED"' in done.text
    assert "Customer moved away" in done.text
    saved = await row(db, b["id"])
    assert (saved.status, saved.cancel_reason) == ("CANCELLED", "Customer moved away")
    again = await api.post(f"/app/bookings/{b['id']}/confirm", data={}, headers=htmx(api))
    assert again.status_code == 409
    assert "A CANCELLED booking cannot confirm." in again.text


async def test_a_viewer_reads_but_may_not_act(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    b = await booked(api, owner, start)
    viewer = await invite(api, owner, settings.var_dir, "vi@example.com", "VIEWER")
    await sign_in(api, viewer)
    page = await api.get(f"/app/bookings/{b['id']}")
    assert page.status_code == 200
    assert "Cancel booking" not in page.text
    refused = await api.post(
        f"/app/bookings/{b['id']}/cancel",
        data={"csrf": api.cookies["servio_csrf"], "reason": "x"},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert "Not allowed" in refused.text
    assert "bookings:write" in refused.text
    assert (await row(db, b["id"])).status == "PENDING"


async def test_an_unknown_booking_is_a_404_page(api: httpx.AsyncClient, db: Database) -> None:
    owner, _ = await business(api, db)
    await sign_in(api, owner)
    r = await api.get(f"/app/bookings/{uuid.uuid4()}", headers=HTML)
    assert r.status_code == 404
    assert "<h1>Page not found</h1>" in r.text
    assert (await api.get("/app/bookings/not-a-uuid", headers=HTML)).status_code in (404, 422)


async def test_confirm_and_resend_the_last_email_from_the_page(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    b = await booked(api, owner, start)
    await sign_in(api, owner)
    confirmed = await api.post(
        f"/app/bookings/{b['id']}/confirm", data={"version": str(b["version"])}, headers=htmx(api)
    )
    assert confirmed.status_code == 200, confirmed.text
    assert 'data-status="CONFIRMED"' in confirmed.text
    assert (await row(db, b["id"])).status == "CONFIRMED"
    resent = await api.post(f"/app/bookings/{b['id']}/resend-email", headers=htmx(api))
    assert resent.status_code == 200, resent.text
    assert "is queued again to jo@example.com" in resent.text
    assert "Email resent" in resent.text  # the timeline line
