"""The session factory: SQLite writers can take the write lock at BEGIN; timestamps
come back timezone-aware UTC on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from servio.domains.identity.models import Org
from servio.platform.db import Database
from tests.support.orgs import add_org


def _statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: seen.append(statement),
    )
    return seen


async def test_writers_begin_immediate_and_readers_deferred_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/lock.db")
    statements = _statements(db)
    try:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
        async with db.session() as session:  # the old spelling, same thing
            await session.execute(text("SELECT 2"))
        async with db.unit_of_work(system=True) as session:
            await session.execute(text("SELECT 3"))
        async with db.reader() as session:
            await session.execute(text("SELECT 4"))
        async with db.unit_of_work(readonly=True) as session:
            await session.execute(text("SELECT 5"))
        async with db.session() as session:  # a second transaction of one session
            await session.execute(text("SELECT 6"))
            await session.commit()
            await session.execute(text("SELECT 7"))
    finally:
        await db.dispose()
    assert statements == [
        "BEGIN IMMEDIATE",
        "SELECT 1",
        "BEGIN IMMEDIATE",
        "SELECT 2",
        "BEGIN IMMEDIATE",
        "SELECT 3",
        "BEGIN",
        "SELECT 4",
        "BEGIN",
        "SELECT 5",
        "BEGIN IMMEDIATE",
        "SELECT 6",
        "BEGIN IMMEDIATE",
        "SELECT 7",
    ]


async def test_sqlite_connections_run_in_wal_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with db.unit_of_work() as session:
            mode = await session.scalar(text("PRAGMA journal_mode"))
            busy = await session.scalar(text("PRAGMA busy_timeout"))
            foreign_keys = await session.scalar(text("PRAGMA foreign_keys"))
    finally:
        await db.dispose()
    assert (mode, busy, foreign_keys) == ("wal", 10_000, 1)


async def test_timestamps_round_trip_as_aware_utc(db: Database) -> None:
    edmonton_evening = datetime(2026, 3, 8, 23, 30, tzinfo=timezone(timedelta(hours=-7)))
    async with db.unit_of_work(system=True) as session:
        org = await add_org(session, "tz-org")
        org.created_at = edmonton_evening
    async with db.unit_of_work(system=True) as session:
        stored = await session.scalar(select(Org.created_at).where(Org.slug == "tz-org"))
    assert stored == edmonton_evening
    assert stored is not None
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetimes"):
        async with db.unit_of_work(system=True) as session:
            session.add(
                Org(
                    slug="naive",
                    name="N",
                    vertical="cleaning",
                    timezone="UTC",
                    currency="CAD",
                    created_at=datetime(2026, 1, 1),  # noqa: DTZ001
                )
            )
