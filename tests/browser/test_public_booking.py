"""In chromium, a customer books a cleaning on the demo's public page end to end: the
estimate follows the answers, a day's free times load, a double-clicked Book books once,
the deposit is paid on the test checkout, and the confirmation page offers the calendar
file. The booking page and the confirmation pass axe-core; screenshots are kept."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.platform.db import Database
from tests.browser.conftest import Site
from tests.support.browser import serious_violations, snap

EMAIL = "casey.browser@example.com"


async def pick_a_day_with_free_times(page: Page) -> None:
    """Click the calendar's days from tomorrow on until the app offers free times."""
    days = page.locator("label.day input")
    values = [await days.nth(i).get_attribute("value") for i in range(await days.count())]
    for value in values[1:]:
        async with page.expect_response(lambda r: "/slots" in r.url) as answer:
            await page.locator("label.day", has=page.locator(f'input[value="{value}"]')).click()
        assert (await answer.value).ok
        settled = page.locator("#slots .slots label, #slots p.empty:has-text('No free times')")
        await expect(settled.first).to_be_visible()
        if await page.locator("#slots .slots label").count():
            return
    raise AssertionError("no day of the calendar has a free time")


async def bookings_of(site: Site, email: str) -> list[Booking]:
    db = Database(site.settings.database_url)
    try:
        async with db.unit_of_work(system=True) as s:
            return list(await s.scalars(select(Booking).where(Booking.email == email)))
    finally:
        await db.dispose()


async def test_a_customer_books_and_pays_the_deposit(page: Page, site: Site) -> None:
    await page.goto("/b/sparkle-clean")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Book with Sparkle Clean")
    total = page.locator("#estimate-panel .total")
    before = await total.text_content()
    assert before
    await page.get_by_label("Bedrooms").select_option("3")
    await expect(total).not_to_have_text(before)
    after_beds = await total.text_content()
    await page.locator("details.add-ons summary").click()
    await page.get_by_role("checkbox", name=re.compile(r"Oven")).check()
    await expect(total).not_to_have_text(after_beds or "")
    await expect(page.locator("#estimate-panel")).to_contain_text("Oven")
    assert await serious_violations(page) == []
    await snap(page, "public-booking")

    await pick_a_day_with_free_times(page)
    first_time = page.locator("#slots .slots label").first
    await expect(first_time).to_be_visible()
    await first_time.click()
    await page.get_by_label("Name").fill("Casey Browser")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Notes for the team").fill("Please bring a ladder.")
    await snap(page, "public-booking-filled")
    await page.get_by_role("button", name="Book").dblclick()

    await expect(page).to_have_url(re.compile(r"/dev/stripe/pay/cs_"))
    await page.get_by_role("button", name="Pay").click()
    await expect(page).to_have_url(re.compile(r"/b/sparkle-clean/booking/[0-9a-f-]{36}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Booking "))
    await expect(page.locator(".badge")).to_have_text("Confirmed")
    await expect(page.locator("main")).to_contain_text("paid")
    assert await serious_violations(page) == []
    await snap(page, "public-booking-confirmed")

    link = page.get_by_role("link", name="Add to calendar")
    href = await link.get_attribute("href")
    assert href is not None
    assert href.endswith(".ics")
    ics = await page.request.get(href)
    assert ics.status == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in await ics.text()

    [booking] = await bookings_of(site, EMAIL)  # the double click booked once
    assert booking.status == "CONFIRMED"
    assert str(booking.id) in page.url
