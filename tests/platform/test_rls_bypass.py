"""Start-up warns, once, when the database role escapes row-level security (a superuser
or a BYPASSRLS role): the tenant policies then guard nothing. /readyz shows it too."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from servio.platform.logging import configure_logging
from servio.web.app import create_app
from tests.conftest import make_settings
from tests.support.databases import ADMIN_URL, APP_ROLE


def _superuser_url(app_url: str) -> str:
    """The same database, reached as the PostgreSQL superuser of the test server."""
    return (
        make_url(app_url)
        .set(username=make_url(ADMIN_URL).username)
        .render_as_string(hide_password=False)
    )


async def _start(url: str, tmp_path: Path) -> tuple[list[dict], httpx.Response]:
    """Start the app (its lifespan), ask /readyz, stop it; the log lines it wrote."""
    stream = io.StringIO()
    app = create_app(make_settings(url, var_dir=tmp_path))
    try:
        configure_logging("info", "json", stream=stream)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                ready = await http.get("/readyz")
    finally:
        configure_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return lines, ready


@pytest.mark.postgres
async def test_a_superuser_role_is_warned_about_at_start_up(pg_url: str, tmp_path: Path) -> None:
    lines, ready = await _start(_superuser_url(pg_url), tmp_path)
    warnings = [line for line in lines if line.get("event") == "rls_bypassed"]
    assert len(warnings) == 1, lines
    [warning] = warnings
    assert warning["level"] == "warning"
    assert warning["role"] == make_url(ADMIN_URL).username
    assert warning["bypass"] == "superuser"
    assert "row-level security" in warning["detail"]
    assert ready.status_code == 200
    check = ready.json()["checks"]["row_level_security"]
    assert check == {
        "status": "degraded",
        "role": make_url(ADMIN_URL).username,
        "bypass": "superuser",
    }
    assert ready.json()["status"] == "degraded"


@pytest.mark.postgres
async def test_the_application_role_starts_without_the_warning(pg_url: str, tmp_path: Path) -> None:
    assert make_url(pg_url).username == APP_ROLE
    lines, ready = await _start(pg_url, tmp_path)
    assert not [line for line in lines if line.get("event") == "rls_bypassed"]
    assert "row_level_security" not in ready.json()["checks"]


async def test_sqlite_has_no_roles_to_warn_about(sqlite_url: str, tmp_path: Path) -> None:
    lines, ready = await _start(sqlite_url, tmp_path)
    assert not [line for line in lines if line.get("event") == "rls_bypassed"]
    assert "row_level_security" not in ready.json()["checks"]


@pytest.mark.postgres
async def test_a_bypassrls_role_is_warned_about_too(pg_url: str, tmp_path: Path) -> None:
    role = f"servio_bypass_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER BYPASSRLS")
    try:
        url = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        lines, _ready = await _start(url, tmp_path)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")
    [warning] = [line for line in lines if line.get("event") == "rls_bypassed"]
    assert (warning["role"], warning["bypass"]) == (role, "bypassrls")
