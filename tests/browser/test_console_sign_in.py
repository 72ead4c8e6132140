"""In chromium: the demo owner signs in to the console; the sign-in and error pages pass
axe-core with no serious violation; screenshots are kept."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import Site
from tests.support.browser import serious_violations, snap


async def test_owner_signs_in_to_the_console(page: Page, site: Site) -> None:
    await page.goto("/app")
    await expect(page).to_have_url(f"{site.url}/app/login?next=%2Fapp")
    assert await serious_violations(page) == []
    await snap(page, "console-login")
    await page.get_by_label("Email").fill("owner@sparkle-clean.example.com")
    await page.get_by_label("Password").fill(site.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{site.url}/app")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    await expect(page.get_by_role("navigation", name="Console")).to_be_visible()


async def test_the_404_page_is_accessible(page: Page, site: Site) -> None:
    response = await page.goto("/nowhere")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert await serious_violations(page) == []
    await snap(page, "not-found")
