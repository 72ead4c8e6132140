"""A customer signs in to the client portal in the browser: asks for a link on the
sign-in page, the app's outbox sends it, the test opens it from the mail folder and
presses Sign in."""

from __future__ import annotations

import email
import re

from playwright.async_api import Page, expect

from tests.browser.conftest import Site


def sign_in_link(site: Site, customer: str) -> str:
    folder = site.var_dir / "mail"
    found = [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
    links = [m for m in found if m["To"] == customer and "sign-in link" in str(m["Subject"])]
    assert links, [m["Subject"] for m in found]
    text = next(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in links[-1].walk()
        if part.get_content_type() == "text/plain"
    )
    match = re.search(r"(http://\S+/client/login/callback\?token=\S+)", text)
    assert match, text
    return match.group(1)


async def ask_for_link(page: Page, site: Site, org: str, customer: str) -> None:
    await page.goto(f"/client/login/request?org={org}")
    await page.get_by_label("Email").fill(customer)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("a sign-in link is on its way")
    await site.deliver_outbox()


async def open_link(page: Page, site: Site, customer: str) -> None:
    await page.goto(sign_in_link(site, customer))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{site.url}/client")
