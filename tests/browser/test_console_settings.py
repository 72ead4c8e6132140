"""In chromium: the demo owner changes a setting on the settings page, sees the refusal
of a bad value beside its field with what was typed kept, then saves a good one; the
settings and leads pages pass axe-core with no serious violation."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import Site
from tests.support.browser import serious_violations, snap


async def _sign_in(page: Page, site: Site, where: str) -> None:
    await page.goto(where)
    await page.get_by_label("Email").fill("owner@sparkle-clean.example.com")
    await page.get_by_label("Password").fill(site.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{site.url}{where}")


async def test_owner_fixes_a_bad_setting_inline_then_saves(page: Page, site: Site) -> None:
    await _sign_in(page, site, "/app/settings")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    assert await serious_violations(page) == []
    await snap(page, "console-settings")
    reminder = page.get_by_label("Reminder (hours before)")
    await reminder.fill("500")
    await page.get_by_role("button", name="Save general settings").click()
    error = page.locator("#f-bookings-reminder_hours-error")
    await expect(error).to_contain_text("less than or equal to 168")
    await expect(page.get_by_label("Reminder (hours before)")).to_have_value("500")
    await expect(page.get_by_label("Reminder (hours before)")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert await serious_violations(page) == []
    await snap(page, "console-settings-error")
    await page.get_by_label("Reminder (hours before)").fill("36")
    await page.get_by_role("button", name="Save general settings").click()
    await expect(page.locator("#general").get_by_role("status")).to_have_text("Saved.")
    await expect(error).to_have_count(0)
    await page.reload()
    await expect(page.get_by_label("Reminder (hours before)")).to_have_value("36")


async def test_the_leads_page_is_accessible(page: Page, site: Site) -> None:
    await _sign_in(page, site, "/app/leads")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    assert await serious_violations(page) == []
    await snap(page, "console-leads")
    await page.get_by_label("Status", exact=True).select_option("CONTACTED")
    await expect(page).to_have_url(re.compile(r"/app/leads\?.*status=CONTACTED"))
    badges = page.locator("#leads .badge")
    await expect(badges.first).to_have_text("Contacted")
    for text in await badges.all_text_contents():
        assert text == "Contacted"
    assert await serious_violations(page) == []
