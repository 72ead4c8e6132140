"""In chromium: the tattoo studio's web chat greets, takes typed answers and offers
choices as buttons; no serious accessibility violation; a screenshot is kept."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import Site
from tests.support.browser import serious_violations, snap


async def test_a_visitor_chats_with_the_studio(page: Page, site: Site) -> None:
    await page.goto("/chat/inkwell-tattoo")
    transcript = page.get_by_role("list", name="Conversation")
    await expect(transcript.locator("li.msg.bot").first).to_be_visible()
    box = page.get_by_label("Your message")
    await box.fill("A small fine-line swallow")
    await page.get_by_role("button", name="Send").click()
    await expect(transcript.locator("li.msg.me")).to_have_count(1)
    await expect(transcript.locator("li.msg.me")).to_contain_text("fine-line swallow")
    await expect(box).to_have_value("")
    await expect(transcript.locator("li.msg.bot").nth(1)).to_be_visible()
    assert await serious_violations(page) == []
    await snap(page, "web-chat")
