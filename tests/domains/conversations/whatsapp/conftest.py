"""An app wired to local fakes of the Graph API and Stripe for the WhatsApp
conversation tests of this package (``api`` overrides the suite's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from servio.platform.db import Database
from tests.domains.conversations.whatsapp.support import SECRET
from tests.domains.messaging.conftest import wa_settings
from tests.support.app import app_client
from tests.support.fake_graph import FakeGraph
from tests.support.fake_stripe import FakeStripe, served
from tests.support.live import serve


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def stripe() -> Iterator[tuple[FakeStripe, str]]:
    with served() as fake_and_url:
        yield fake_and_url


@pytest.fixture
def stripe_url(stripe: tuple[FakeStripe, str]) -> str:
    return stripe[1]


@pytest.fixture
async def api(
    db_url: str, db: Database, tmp_path: Path, graph: FakeGraph, stripe_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = wa_settings(
        db_url,
        tmp_path / "var",
        graph,
        stripe_api_key="sk_test_golden",
        stripe_webhook_secret=SECRET,
        stripe_api_base=stripe_url,
    )
    async with app_client(settings, raise_errors=False) as client:
        yield client
