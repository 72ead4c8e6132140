"""Read-only units of work read beside the writers and refuse to write, on both
databases; on SQLite a task that opens a second writer while it holds the write lock
is told so at once instead of waiting on itself until the busy timeout runs out."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import func, select, text, update

from servio.domains.identity.models import Org
from servio.platform.db import Database
from servio.platform.db.engine import ReadOnlyViolation
from servio.platform.db.sqlite import NestedWriter
from servio.platform.http.auth import CurrentPrincipal, OrgReader
from tests.support.app import app_of
from tests.support.identity import register
from tests.support.orgs import add_org


async def _org_names(db: Database) -> list[str]:
    async with db.reader(system=True) as s:
        return list(await s.scalars(select(Org.name).order_by(Org.slug)))


async def test_a_reader_reads_what_was_committed(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "plain-reader")
    async with db.reader(org.id) as s:
        found = await s.get(Org, org.id)
    assert found is not None
    assert found.slug == "plain-reader"
    assert await _org_names(db) == ["Plain Reader"]


async def test_a_reader_refuses_new_changed_and_deleted_rows(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "kept-as-is")
    with pytest.raises(ReadOnlyViolation, match="read-only unit of work"):
        async with db.reader(system=True) as s:
            await add_org(s, "never-stored")
    async with db.unit_of_work(system=True, readonly=True) as s:
        row = await s.get(Org, org.id)
        assert row is not None
        row.name = "Renamed"
        with pytest.raises(ReadOnlyViolation):
            await s.flush()
        await s.rollback()
    with pytest.raises(ReadOnlyViolation, match="INSERT, UPDATE or DELETE"):
        async with db.reader(system=True) as s:
            await s.execute(update(Org).values(name="Bulk renamed"))
    async with db.reader(system=True) as s:
        await s.delete(await s.get(Org, org.id))
        with pytest.raises(ReadOnlyViolation):
            await s.flush()
        await s.rollback()
    assert await _org_names(db) == ["Kept As Is"]


async def test_a_reader_may_load_rows_and_leave_them_unchanged(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "untouched")
    async with db.reader(system=True) as s:
        row = await s.get(Org, org.id)
        assert row is not None
        row.name = row.name  # the same value: nothing to write
        await s.flush()
    assert await _org_names(db) == ["Untouched"]


def _sqlite(tmp_path: Path) -> Database:
    return Database(f"sqlite+aiosqlite:///{tmp_path}/nested.db")


async def test_readers_go_on_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    try:
        async with db.unit_of_work() as s:
            await s.execute(text("CREATE TABLE notes (body TEXT)"))
        async with db.unit_of_work() as writer:
            await writer.execute(text("INSERT INTO notes VALUES ('draft')"))

            async def read_elsewhere() -> int:
                async with db.reader() as s:
                    return int(await s.scalar(text("SELECT count(*) FROM notes")) or 0)

            assert await asyncio.wait_for(asyncio.create_task(read_elsewhere()), 2) == 0
    finally:
        await db.dispose()


async def test_a_nested_writer_on_sqlite_may_read_and_is_refused_writes_at_once(
    tmp_path: Path,
) -> None:
    db = _sqlite(tmp_path)
    try:
        async with db.unit_of_work() as s:
            await s.execute(text("CREATE TABLE notes (body TEXT)"))
        async with db.unit_of_work() as outer:
            await outer.execute(text("INSERT INTO notes VALUES ('outer')"))
            async with db.unit_of_work() as inner:  # reads what was committed
                assert await inner.scalar(text("SELECT count(*) FROM notes")) == 0
            began = time.monotonic()
            with pytest.raises(NestedWriter, match="already holds the SQLite write lock"):
                async with db.unit_of_work() as inner:
                    await inner.execute(text("INSERT INTO notes VALUES ('inner')"))
            assert time.monotonic() - began < 2  # not the 10 s busy timeout
        async with db.unit_of_work() as after:  # the lock was given back: a writer again
            await after.execute(text("INSERT INTO notes VALUES ('after')"))
        async with db.reader() as s:
            notes = list(await s.scalars(text("SELECT body FROM notes ORDER BY body")))
        assert notes == ["after", "outer"]
    finally:
        await db.dispose()


async def test_a_failed_writer_gives_the_lock_back_to_its_task(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    try:
        async with db.unit_of_work() as s:
            await s.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
        with pytest.raises(Exception, match="NOT NULL"):
            async with db.unit_of_work() as s:
                await s.execute(text("INSERT INTO notes VALUES (NULL)"))
        for n in range(3):
            async with db.unit_of_work() as s:
                await s.execute(text("INSERT INTO notes VALUES (:n)"), {"n": str(n)})
        async with db.reader() as s:
            assert await s.scalar(select(func.count()).select_from(text("notes"))) == 3
    finally:
        await db.dispose()


async def test_the_read_only_request_session_reads_for_the_principal_and_refuses_writes(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@reader.example.com", "Reader Homes")
    router = APIRouter()

    @router.get("/_t/my-org-name")
    async def my_org_name(principal: CurrentPrincipal, s: OrgReader) -> dict[str, str | None]:
        return {"name": await s.scalar(select(Org.name).where(Org.id == principal.org_id))}

    @router.post("/_t/rename-my-org")
    async def rename_my_org(principal: CurrentPrincipal, s: OrgReader) -> None:
        await s.execute(update(Org).where(Org.id == principal.org_id).values(name="Renamed"))

    app_of(api).include_router(router)
    r = await api.get("/_t/my-org-name", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "Reader Homes"}
    refused = await api.post("/_t/rename-my-org", headers=owner.auth)
    assert refused.status_code == 500
    assert refused.json()["type"].endswith("/internal-error")
    assert await _org_names(db) == ["Reader Homes"]
