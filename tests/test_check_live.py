"""``servio check-live`` against a live deployment: every check passes when the
operator's secrets are the deployment's; a wrong one is reported and exits 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from servio.cli import app
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.web.app import create_app
from tests.conftest import make_settings
from tests.support.identity import new_key, register
from tests.support.live import serve

VERIFY_TOKEN = "verify-live"
APP_SECRET = "app-secret-live"
STRIPE_SECRET = "whsec_live_check"
runner = CliRunner()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        db_url,
        var_dir=tmp_path / "var",
        whatsapp_verify_token=VERIFY_TOKEN,
        whatsapp_app_secret=APP_SECRET,
        stripe_api_key="sk_test_live_check",
        stripe_webhook_secret=STRIPE_SECRET,
    )


@pytest.fixture
def live(settings: Settings, db: Database) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield url


async def _admin_key(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as api:
        ada = await register(api, "ada@example.com", "Inkwell")
        return str((await new_key(api, ada.auth, name="ops"))["key"])


def check_live(url: str, *options: str) -> tuple[int, str]:
    result = runner.invoke(app, ["check-live", "--base-url", url, *options], env={"COLUMNS": "200"})
    return result.exit_code, result.output


async def test_every_check_passes_with_the_deployments_secrets(live: str) -> None:
    key = await _admin_key(live)
    code, output = check_live(
        live,
        *("--verify-token", VERIFY_TOKEN, "--app-secret", APP_SECRET),
        *("--admin-key", key, "--stripe-secret", STRIPE_SECRET),
    )
    assert code == 0, output
    assert "FAIL" not in output
    assert "11 passed, 0 failed, 0 skipped" in output


async def test_checks_without_secrets_are_skipped(live: str) -> None:
    code, output = check_live(live)
    assert code == 0, output
    assert "7 passed, 0 failed, 4 skipped" in output


async def test_a_wrong_secret_is_reported_and_exits_1(live: str) -> None:
    code, output = check_live(
        live,
        *("--verify-token", "not-the-token", "--app-secret", "not-the-secret"),
        *("--admin-key", "svk_not_a_key", "--stripe-secret", "whsec_not_it"),
    )
    assert code == 1, output
    assert "7 passed, 4 failed, 0 skipped" in output
    for name in ("right token echoes", "signed status-only POST", "right key", "signed event"):
        line = next(x for x in output.splitlines() if name in x)
        assert "FAIL" in line, line


def test_an_unreachable_deployment_fails() -> None:
    code, output = check_live("http://127.0.0.1:9", "--timeout", "1")
    assert code == 1, output
    assert "0 passed" in output
