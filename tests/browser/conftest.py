"""A live demo site for the browser tests: a migrated SQLite database seeded like
``make demo``, served on a real port (with the test checkout standing in for Stripe and
mail written to files), and Debian's chromium driven by Playwright."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from servio.app.container import Container
from servio.app.seeding import seed_demo
from servio.platform.config import Settings
from servio.web.app import create_app
from tests.conftest import make_settings
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.databases import create_sqlite_database, migrate
from tests.support.live import free_port, serve


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    var_dir: Path

    @property
    def password(self) -> str:
        return self.settings.demo_password.get_secret_value()

    async def deliver_outbox(self) -> int:
        """Send what the site queued (mail lands in var_dir/"mail"), as its worker would,
        through a container of the test's own event loop."""
        container = Container.from_settings(self.settings)
        try:
            return await container.dispatcher("tests").drain()
        finally:
            await container.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    url = create_sqlite_database(folder)
    migrate(url)
    port = free_port()
    settings = make_settings(
        url,
        var_dir=folder / "var",
        public_url=f"http://127.0.0.1:{port}",
        stripe_dev_checkout=True,
        rate_limit_enabled=False,
    )
    # Seeded on a thread of its own: the tests' event loop is left alone.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed_demo(settings, show_progress=False)).result()
    with serve(create_app(settings), port=port) as base:
        yield Site(url=base, settings=settings, var_dir=folder / "var")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, site: Site) -> AsyncIterator[BrowserContext]:
    # CSP is bypassed only so that axe-core can be injected; the pages never need it.
    made = await browser.new_context(
        base_url=site.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    made.set_default_timeout(15_000)
    yield made
    await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    assert not errors, f"script errors on the page: {errors}"
