"""In chromium: a customer of the demo cleaning company asks for a sign-in link, opens
the emailed link, sees the booking; staff move it through the admin API and the portal
shows the new time. The portal's pages pass axe-core with no serious violation."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect

from servio.web.pages.rendering import local_date, local_time
from tests.browser.conftest import Site
from tests.browser.portal import ask_for_link, open_link
from tests.support.browser import serious_violations, snap
from tests.support.free_times import first_on_a_later_day, free_starts

ORG = "sparkle-clean"
CUSTOMER = "portal.customer@example.com"
TZ = ZoneInfo("America/Edmonton")


async def _book(http: httpx.AsyncClient) -> tuple[str, datetime, str, str]:
    """A booking at the first free start six or more days ahead (outside the change
    cut-off), and a later day on which its team is free (the day the customer moves it
    to)."""
    start = (await free_starts(http, ORG, duration_minutes=120, skip_days=6))[0]
    r = await http.post(
        f"/v1/bookings?org={ORG}",
        json={
            "customer": {"name": "Pat Portal", "email": CUSTOMER},
            "start": start.isoformat(),
            "duration_minutes": 120,
        },
    )
    assert r.status_code == 201, r.text
    team = str(r.json()["resource_id"])
    same_team = await free_starts(http, ORG, duration_minutes=120, skip_days=6, resource_id=team)
    other = first_on_a_later_day(same_team, start, str(TZ))
    return str(r.json()["id"]), start, other.astimezone(TZ).date().isoformat(), team


async def _staff_reschedule(
    http: httpx.AsyncClient, site: Site, booking_id: str, team: str
) -> datetime:
    login = await http.post(
        "/v1/auth/login",
        json={"email": f"owner@{ORG}.example.com", "password": site.password, "org": ORG},
    )
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    free = await free_starts(http, ORG, duration_minutes=120, skip_days=9, resource_id=team)
    target = free[0]
    r = await http.post(
        f"/v1/admin/bookings/{booking_id}/reschedule",
        json={"start": target.isoformat()},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    return target


async def test_a_customer_signs_in_by_link_and_sees_a_moved_booking(page: Page, site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as http:
        booking_id, start, move_day, team = await _book(http)
        await page.goto(f"/client/login/request?org={ORG}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("See your bookings")
        assert await serious_violations(page) == []
        await snap(page, "client-portal-login")
        await ask_for_link(page, site, ORG, CUSTOMER)
        await open_link(page, site, CUSTOMER)
        await expect(page.get_by_role("heading", level=1)).to_have_text("My bookings")
        row = page.locator(f'a[href="/client/bookings/{booking_id}"]')
        await expect(row).to_contain_text(local_date(start, TZ, "en_US"))
        await expect(row).to_contain_text(local_time(start, TZ, "en_US"))
        assert await serious_violations(page) == []
        await snap(page, "client-portal-home")
        await row.click()
        await expect(page.get_by_role("button", name="Cancel this booking")).to_be_visible()
        await page.get_by_label("Move to another day").fill(move_day)
        await page.get_by_label("Move to another day").dispatch_event("change")
        await expect(page.get_by_role("group", name="Free times")).to_be_visible()
        assert await serious_violations(page) == []
        await snap(page, "client-portal-booking")
        await page.get_by_role("group", name="Free times").get_by_role("radio").first.check()
        await page.get_by_role("button", name="Move my booking").click()
        await expect(page.get_by_role("status")).to_contain_text("Your booking is moved")
        await expect(page.locator("#booking-when")).to_contain_text(
            local_date(date.fromisoformat(move_day), TZ, "en_US")
        )
        moved_to = await _staff_reschedule(http, site, booking_id, team)
    await page.goto("/client")
    row = page.locator(f'a[href="/client/bookings/{booking_id}"]')
    await expect(row).to_contain_text(local_time(moved_to, TZ, "en_US"))
    await page.goto(f"/client/bookings/{booking_id}")
    await expect(page.locator("#booking-when")).to_contain_text(local_time(moved_to, TZ, "en_US"))
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{site.url}/client/login/request?org={ORG}")
    await page.goto("/client")
    await expect(page).to_have_url(f"{site.url}/client/login/request")
