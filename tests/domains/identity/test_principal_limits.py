"""Authenticated callers are limited per principal, at their org's override when set;
the operator token configured by SERVIO_OPERATOR_TOKEN passes maintenance mode."""

from __future__ import annotations

from pathlib import Path

import httpx

from servio.domains.identity import service
from servio.platform.db import Database
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.identity import register


def _limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/rate-limited")
    assert int(r.headers["retry-after"]) >= 1


async def test_each_principal_has_its_own_budget(db_url: str, db: Database, tmp_path: Path) -> None:
    settings = make_settings(db_url, var_dir=tmp_path, rate_limit_authenticated="3/minute")
    async with app_client(settings, raise_errors=False) as api:
        ada = await register(api, "ada@example.com", "Bright Homes")
        bob = await register(api, "bob@example.com", "Other Co")
        for _ in range(3):
            assert (await api.get("/v1/auth/me", headers=ada.auth)).status_code == 200
        _limited(await api.get("/v1/auth/me", headers=ada.auth))
        assert (await api.get("/v1/auth/me", headers=bob.auth)).status_code == 200


async def test_an_org_override_replaces_the_default(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    settings = make_settings(db_url, var_dir=tmp_path, rate_limit_authenticated="2/minute")
    async with app_client(settings, raise_errors=False) as api:
        ada = await register(api, "ada@example.com", "Bright Homes")
        async with db.unit_of_work(system=True) as s:
            await service.put_setting(s, ada.org_id, "rate_limit.authenticated", "5/minute")
        codes = [(await api.get("/v1/auth/me", headers=ada.auth)).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]


async def test_operator_token_passes_maintenance(sqlite_url: str, tmp_path: Path) -> None:
    token = "o" * 40
    settings = make_settings(
        sqlite_url, var_dir=tmp_path, maintenance_mode=True, operator_token=token
    )
    async with app_client(settings, raise_errors=False) as api:
        closed = await api.get("/v1/auth/me")
        assert closed.status_code == 503
        assert closed.json()["type"].endswith("/maintenance")
        wrong = await api.get("/v1/auth/me", headers={"X-Operator-Token": "x" * 40})
        assert wrong.status_code == 503
        passed = await api.get("/v1/auth/me", headers={"X-Operator-Token": token})
        assert passed.status_code == 401  # through the gate, then asked for credentials
        assert passed.json()["type"].endswith("/not-authenticated")
