"""Throw-away databases for a test run: a PostgreSQL database owned by a non-superuser
application role (so RLS binds it), and a SQLite file; each migrated once."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from servio.platform.db import migrations

APP_ROLE = "servio_app"
ADMIN_URL = os.environ.get(
    "SERVIO_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_reachable() -> bool:
    if os.environ.get("SERVIO_TEST_DATABASE_URL"):
        return True
    url = make_url(ADMIN_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            pass
        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            return True
    except (OSError, psycopg.Error):
        return False


def create_postgres_database(tag: str) -> tuple[str, str]:
    """Create a database owned by the app role; returns (app url, admin url of it)."""
    given = os.environ.get("SERVIO_TEST_DATABASE_URL")
    if given:
        return given, given
    name = f"servio_test_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        if not exists:
            conn.execute(
                f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            )
        conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
    admin = make_url(ADMIN_URL)
    app_url = f"postgresql+asyncpg://{APP_ROLE}@{admin.host}:{admin.port or 5432}/{name}"
    return app_url, str(admin.set(database=name).render_as_string(hide_password=False))


def drop_postgres_database(app_url: str) -> None:
    if os.environ.get("SERVIO_TEST_DATABASE_URL"):
        return
    name = make_url(app_url).database
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_sqlite_database(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'servio-test.db'}"


def migrate(url: str) -> None:
    migrations.upgrade(url)
