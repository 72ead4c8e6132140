"""Which errors are a database outage (answered 503, retried by the worker) and which
are bugs (still 500): real errors from real databases, not made-up exceptions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import exc as sa
from sqlalchemy import text

from servio.platform.db import Database
from servio.platform.db.outage import is_database_outage


async def _run(db: Database, sql: str) -> None:
    async with db.unit_of_work(system=True) as s:
        await s.execute(text("PRAGMA busy_timeout=0"))
        await s.execute(text(sql))


async def _error_of(db: Database, sql: str) -> BaseException:
    with pytest.raises(sa.DBAPIError) as caught:
        await _run(db, sql)
    return caught.value


async def test_a_sqlite_lock_held_past_the_busy_timeout_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE notes (body TEXT)")
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        locked = await _error_of(db, "INSERT INTO notes VALUES ('x')")
        assert isinstance(locked, sa.OperationalError)
        assert "database is locked" in str(locked)
        assert is_database_outage(locked)
        holder.execute("ROLLBACK")

        missing = await _error_of(db, "SELECT * FROM no_such_table")
        assert isinstance(missing, sa.OperationalError)  # SQLite's word for it too
        assert not is_database_outage(missing)
        wrong = await _error_of(db, "SELEC 1")
        assert not is_database_outage(wrong)
    finally:
        holder.close()
        await db.dispose()


@pytest.mark.postgres
async def test_postgres_errors_of_the_statement_are_not_an_outage(pg_db: Database) -> None:
    async def divide_by_zero() -> None:
        async with pg_db.unit_of_work(system=True) as s:
            await s.execute(text("SELECT 1/0"))

    with pytest.raises(sa.DBAPIError) as caught:
        await divide_by_zero()
    assert not is_database_outage(caught.value)


@pytest.mark.postgres
async def test_a_statement_past_the_statement_timeout_is_an_outage(pg_url: str) -> None:
    db = Database(pg_url, statement_timeout_ms=200)
    try:

        async def sleep_past_the_timeout() -> None:
            async with db.unit_of_work(system=True) as s:
                await s.execute(text("SELECT pg_sleep(2)"))

        with pytest.raises(sa.DBAPIError) as caught:
            await sleep_past_the_timeout()
        assert "statement timeout" in str(caught.value)
        assert is_database_outage(caught.value)
    finally:
        await db.dispose()


def test_plain_errors_are_sorted_by_what_they_say() -> None:
    assert is_database_outage(ConnectionRefusedError(111, "Connect call failed"))
    assert is_database_outage(TimeoutError())
    assert is_database_outage(OSError("Multiple exceptions: [Errno 111] ..."))
    assert not is_database_outage(FileNotFoundError(2, "No such file"))
    assert not is_database_outage(ValueError("bad"))
    assert not is_database_outage(sa.TimeoutError("QueuePool limit reached"))  # load: busy
