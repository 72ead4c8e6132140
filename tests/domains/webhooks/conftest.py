"""Webhook tests run the real app with the dev/test allowlist on, so a receiver on
127.0.0.1 may be called; tests of the guard at the API open a client without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from servio.platform.config import Settings
from servio.platform.db import Database
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.receiver import Receiver, running_receiver


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, var_dir=tmp_path / "var", webhooks_allow_private=True)


@pytest.fixture
async def strict_api(db_url: str, db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The same database (emptied after the test) behind an app without the
    private-address allowlist."""
    strict = make_settings(db_url, var_dir=tmp_path / "strict", webhooks_allow_private=False)
    async with app_client(strict, raise_errors=False) as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as found:
        yield found
