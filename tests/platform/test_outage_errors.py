"""Which errors are a database outage (answered 503, retried by the worker) and which
are bugs (still 500): real errors from real databases, not made-up exceptions."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import exc as sa
from sqlalchemy import make_url, text

from servio.platform.db import Database
from servio.platform.db.engine import DRIVER_TIMEOUT_MARGIN_SECONDS
from servio.platform.db.outage import is_database_outage, outage_reason
from tests.support.tcp_proxy import TcpProxy


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
        locked = await _error_of(db, "INSERT INTO notes VALUES ('jo@example.com')")
        assert isinstance(locked, sa.OperationalError)
        assert is_database_outage(locked)
        assert outage_reason(locked) == "database is locked"  # what logs get: no data
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


@pytest.mark.postgres
async def test_a_transaction_stalled_mid_way_fails_within_the_statement_timeout(
    pg_url: str,
) -> None:
    """The database goes silent between two statements of one transaction: the second
    fails after the driver's timeout, the connection is dropped rather than rolled
    back down a silent socket, and the next transaction gets a fresh one."""
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via = target.set(port=proxy.port).render_as_string(hide_password=False)
    db = Database(via, timeout=0.5, statement_timeout_ms=300)
    seconds = 0.0

    async def stalls_after_the_first_statement() -> None:
        nonlocal seconds
        async with db.unit_of_work(system=True) as s:
            await s.execute(text("SELECT 1"))
            await proxy.hold()
            started = time.monotonic()
            try:
                await s.execute(text("SELECT 2"))
            finally:
                seconds = time.monotonic() - started

    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError) as caught:
            await stalls_after_the_first_statement()
        assert is_database_outage(caught.value)
        assert seconds < 0.3 + DRIVER_TIMEOUT_MARGIN_SECONDS + 0.5
        assert time.monotonic() - started < 2.0  # no second wait on ROLLBACK
        await proxy.start()
        async with db.unit_of_work(system=True) as s:
            assert await s.scalar(text("SELECT 3")) == 3
    finally:
        await proxy.cut()
        await db.dispose()
