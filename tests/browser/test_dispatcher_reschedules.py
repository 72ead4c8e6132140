"""In chromium: a dispatcher the owner invited, with an authenticator app, signs in to
the console (password, then the code), finds a booking by the customer's email, moves
it to a free time of another day, and sees the new time; the database agrees, and the
customer, signed in to the client portal by emailed link, sees the new time too. The
dashboard passes axe-core; the dashboard, board and booking pages are kept as
screenshots."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.platform.db import Database
from servio.web.pages.rendering import local_date, local_time
from tests.browser.conftest import Site
from tests.browser.portal import ask_for_link, open_link
from tests.support.app import app_client
from tests.support.browser import serious_violations, snap
from tests.support.free_times import free_starts, today_in
from tests.support.identity import PASSWORD, enable_mfa, invite, login, totp_code

DISPATCHER = "dispatch@sparkle-clean.example.com"
TZ = ZoneInfo("America/Edmonton")


async def _dispatcher_with_mfa(site: Site) -> tuple[str, dict]:
    """The dispatcher's TOTP secret and a confirmed booking a few days ahead."""
    async with app_client(site.settings) as api:
        owner = await login(api, "owner@sparkle-clean.example.com", site.password)
        dispatcher = await invite(api, owner, site.var_dir, DISPATCHER, "DISPATCHER")
        secret, _codes = await enable_mfa(api, dispatcher)
        soon = today_in(TZ) + timedelta(days=3)
        r = await api.get(
            "/v1/admin/bookings",
            params={"from": soon.isoformat(), "status": "CONFIRMED", "limit": 1},
            headers=dispatcher.auth,
        )
        assert r.status_code == 200, r.text
        [booking] = r.json()["items"]
    return secret, booking


async def _a_later_free_day(site: Site, booking: dict) -> date:
    """A day past the demo's booked fortnight on which the booking's team is free for
    as long as the booking lasts, as the app offers it."""
    length = datetime.fromisoformat(booking["end"]) - datetime.fromisoformat(booking["start"])
    async with httpx.AsyncClient(base_url=site.url) as http:
        free = await free_starts(
            http,
            "sparkle-clean",
            duration_minutes=int(length.total_seconds() // 60),
            skip_days=15,
            resource_id=booking["resource_id"],
        )
    return free[0].astimezone(TZ).date()


async def _start_of(site: Site, booking_id: str) -> datetime:
    db = Database(site.settings.database_url)
    try:
        async with db.unit_of_work(system=True) as s:
            found = await s.scalar(select(Booking).where(Booking.id == uuid.UUID(booking_id)))
            assert found is not None
            return found.starts_at
    finally:
        await db.dispose()


async def _sign_in(page: Page, site: Site, secret: str) -> None:
    await page.goto("/app")
    await page.get_by_label("Email").fill(DISPATCHER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    await page.get_by_label("Code").fill(totp_code(secret))
    await page.get_by_role("button", name="Verify").click()
    await expect(page).to_have_url(f"{site.url}/app")


async def test_dispatcher_finds_and_reschedules_a_booking(
    page: Page, context: BrowserContext, site: Site
) -> None:
    secret, booking = await _dispatcher_with_mfa(site)
    await _sign_in(page, site, secret)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    await expect(page.locator("canvas[data-chart]").first).to_be_visible()
    await expect(page.locator("canvas[data-chart='chart-bookings'][data-drawn='1']")).to_have_count(
        1
    )
    assert await serious_violations(page) == []
    await snap(page, "console-dashboard")

    await (
        page.get_by_role("navigation", name="Console")
        .get_by_role("link", name="Board", exact=True)
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Board")
    await page.get_by_role("link", name="Week", exact=True).click()
    await expect(page.locator("table.board-grid.week")).to_be_visible()
    assert await serious_violations(page) == []
    await snap(page, "console-board-week")

    await (
        page.get_by_role("navigation", name="Console")
        .get_by_role("link", name="Bookings", exact=True)
        .click()
    )
    await page.get_by_label("Customer name or email").fill(booking["email"])
    # Click once the search has answered (only this customer's booking is listed), not
    # while htmx is still swapping the unfiltered list for it.
    await expect(page.locator("#results a[href^='/app/bookings/']")).to_have_count(1)
    await expect(page.locator(".htmx-request")).to_have_count(0)
    link = page.locator(f"#results a[href='/app/bookings/{booking['id']}']")
    await link.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(booking["name"])
    await expect(page.get_by_text("Timeline")).to_be_visible()
    assert await serious_violations(page) == []

    target = await _a_later_free_day(site, booking)
    await page.get_by_label("New date").fill(target.isoformat())
    first_free = page.locator("#reschedule-slots input[name=start]").first
    await expect(first_free).to_be_attached()
    chosen = await first_free.get_attribute("value")
    assert chosen is not None
    await page.locator("#reschedule-slots label").first.click()
    await snap(page, "console-booking-reschedule")
    await page.get_by_role("button", name="Move booking").click()
    await expect(page.get_by_role("status").filter(has_text="Booking moved")).to_be_visible()
    await expect(page.locator("[data-field=when]")).to_contain_text(str(target.day))
    await expect(page.locator(".timeline")).to_contain_text("Rescheduled")
    await snap(page, "console-booking")
    moved_to = datetime.fromisoformat(chosen)
    assert await _start_of(site, booking["id"]) == moved_to

    # The customer's portal shows the new time.
    customer = await context.new_page()
    await context.clear_cookies()
    await ask_for_link(customer, site, "sparkle-clean", booking["email"])
    await open_link(customer, site, booking["email"])
    row = customer.locator(f'a[href="/client/bookings/{booking["id"]}"]')
    await expect(row).to_contain_text(local_date(moved_to, TZ, "en_US"))
    await expect(row).to_contain_text(local_time(moved_to, TZ, "en_US"))
