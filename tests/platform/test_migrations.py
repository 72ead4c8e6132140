"""Migrations: one head, every step downgradable, and ``check`` catches drift."""

from __future__ import annotations

import asyncio

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, Table, text

from servio.app.models import metadata
from servio.platform.db import migrations
from servio.platform.db.rls import (
    NULLABLE_ORG_PREDICATE,
    TENANT_PREDICATE,
    disable_rls_sql,
    enable_rls_sql,
)
from tests.support import databases


def test_one_head() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert migrations.head_revision() == script.get_current_head()


def _round_trip(url: str) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    revisions = [r.revision for r in script.walk_revisions("base", "heads")]
    migrations.upgrade(url)
    assert migrations.current_revision(url) == migrations.head_revision()
    migrations.downgrade(url, "base")
    assert migrations.current_revision(url) is None
    # Step up one revision at a time, then down one at a time.
    for _ in revisions:
        migrations.upgrade(url, "+1")
    assert migrations.current_revision(url) == migrations.head_revision()
    for _ in revisions:
        migrations.downgrade(url, "-1")
    assert migrations.current_revision(url) is None
    migrations.upgrade(url)
    migrations.check(url)


def test_every_migration_downgrades_on_sqlite(tmp_path: pytest.TempPathFactory) -> None:
    _round_trip(databases.create_sqlite_database(tmp_path))  # type: ignore[arg-type]


@pytest.mark.postgres
def test_every_migration_downgrades_on_postgres(pg_url: str) -> None:
    url, _ = databases.create_postgres_database("roundtrip")
    try:
        _round_trip(url)
    finally:
        databases.drop_postgres_database(url)


def test_check_fails_when_models_and_migrations_differ(sqlite_url: str) -> None:
    migrations.check(sqlite_url)
    extra = Table("not_in_any_migration", metadata, Column("id", Integer, primary_key=True))
    try:
        with pytest.raises(migrations.MigrationsOutOfDate, match="not_in_any_migration"):
            migrations.check(sqlite_url)
    finally:
        metadata.remove(extra)
    migrations.check(sqlite_url)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("table", "predicate"),
    [
        ("org_settings", TENANT_PREDICATE),
        ("audit_events", NULLABLE_ORG_PREDICATE),
        ("external_events", NULLABLE_ORG_PREDICATE),
    ],
)
def test_check_fails_when_a_tenant_table_lacks_rls(pg_url: str, table: str, predicate: str) -> None:
    url, _admin = databases.create_postgres_database("rlscheck")
    try:
        migrations.upgrade(url)
        migrations.check(url)

        async def run(statements: list[str]) -> None:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url)
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
            await engine.dispose()

        asyncio.run(run(disable_rls_sql(table)))
        with pytest.raises(migrations.MigrationsOutOfDate, match=table):
            migrations.check(url)
        asyncio.run(run(enable_rls_sql(table, predicate)))
        migrations.check(url)
    finally:
        databases.drop_postgres_database(url)
