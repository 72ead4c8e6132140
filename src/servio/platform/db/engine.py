"""One engine and one session factory per process, for SQLite and PostgreSQL alike.

Transactions: on SQLite every session writes unless it was opened read-only, so its
transaction begins IMMEDIATE (see ``servio.platform.db.sqlite``); read-only work
(``reader``, ``readonly=True``) begins DEFERRED and is refused any write, on both
databases, so a reader that starts writing is caught by the tests of either one.

Tenancy: a session carries the org it works for in ``session.info``. On PostgreSQL the
start of every transaction runs ``set_config('app.current_org_id', org, true)`` (the
function form of ``SET LOCAL``), so row-level security restricts every statement of
that transaction to the org, whatever WHERE clause the code wrote. SQLite has no
row-level security: there every ORM SELECT, UPDATE and DELETE of a session bound to an
org gets the same filter as loader criteria on the tenant models, so a query that
forgets its org stays inside it on both databases. System scope sees every org.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg.exceptions as asyncpg_errors
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    with_loader_criteria,
)
from sqlalchemy.util import await_

from servio.platform.db import sqlite
from servio.platform.db.base import ROW_LEVEL_SECURED_MODELS, TenantBase
from servio.platform.db.sqlite import READ_ONLY

ORG_KEY = "org_id"
SYSTEM_KEY = "system_scope"

_SET_TENANT = text(
    "SELECT set_config('app.current_org_id', :org, true), "
    "set_config('app.system_scope', :system, true)"
)


class TenantSession(Session):
    """The sync session class behind every ``AsyncSession`` the factory makes."""


@event.listens_for(TenantSession, "after_begin")
def _apply_tenant(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    org = session.info.get(ORG_KEY)
    system = bool(session.info.get(SYSTEM_KEY))
    if org is None and not system:
        return  # RLS then hides every tenant row
    connection.execute(_SET_TENANT, {"org": str(org or ""), "system": "on" if system else ""})


class ReadOnlyViolation(RuntimeError):
    """A write inside a unit of work opened read-only."""


def _refuse(what: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        f"{what} inside a read-only unit of work; open a writing one (unit_of_work) instead."
    )


@event.listens_for(TenantSession, "before_flush")
def _refuse_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    if not session.info.get(READ_ONLY):
        return
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        raise _refuse("A flush of changed rows")


@event.listens_for(TenantSession, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and state.session.info.get(READ_ONLY):
        raise _refuse("An INSERT, UPDATE or DELETE")


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_to_org(state: ORMExecuteState) -> None:
    """SQLite's stand-in for row-level security: only the bound org's tenant rows."""
    org = state.session.info.get(ORG_KEY)
    if org is None or state.session.info.get(SYSTEM_KEY):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria travel with the loaded rows to their lazy loads
    if state.session.get_bind().dialect.name == "postgresql":
        return  # row-level security does it there
    tenant_models: list[type[Any]] = [TenantBase, *ROW_LEVEL_SECURED_MODELS]
    state.statement = state.statement.options(
        *(
            with_loader_criteria(model, lambda cls: cls.org_id == org, include_aliases=True)
            for model in tenant_models
        )
    )


# The driver waits this much longer than the server's statement_timeout, so a live
# server cancels a slow statement itself and only a silent one is given up on.
DRIVER_TIMEOUT_MARGIN_SECONDS = 0.5


def postgres_connect_args(timeout: float, statement_timeout_ms: int | None) -> dict[str, Any]:
    """asyncpg's connect arguments: connecting bounded by ``timeout``; with
    ``statement_timeout_ms``, every statement bounded on the server (statement_timeout)
    and in the driver (command_timeout), so a database that stops answering fails a
    request in bounded time instead of hanging it."""
    server_settings = {"application_name": "servio"}
    args: dict[str, Any] = {"timeout": timeout, "server_settings": server_settings}
    if statement_timeout_ms is not None:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
        args["command_timeout"] = statement_timeout_ms / 1000 + DRIVER_TIMEOUT_MARGIN_SECONDS
    return args


# A driver error of these kinds leaves the connection unusable (a half-read reply, a
# dead socket): the pool drops it at once instead of sending ROLLBACK down it.
_LOST_CONNECTION = (
    TimeoutError,
    OSError,
    asyncpg_errors.InterfaceError,
    asyncpg_errors.PostgresConnectionError,
)


def _drop_stalled_connections(context: ExceptionContext) -> None:
    if not isinstance(context.original_exception, _LOST_CONNECTION):
        return
    context.is_disconnect = True
    # Closed at once: the pool's polite close would wait on the silent socket again.
    with contextlib.suppress(Exception):  # already gone: nothing to close
        fairy = context.connection.connection if context.connection is not None else None
        driver = getattr(fairy, "driver_connection", None)
        if driver is not None:
            driver.terminate()


def bound_postgres_waits(engine: AsyncEngine, ping_timeout: float) -> None:
    """Bound the pool's pre-ping by ``ping_timeout`` (the dialect's own ping waits the
    full statement timeout, twice) and make a timed-out or broken connection a
    disconnect, so a silent database costs a request one short wait, not a hang."""
    dialect = engine.sync_engine.dialect

    def bounded_ping(dbapi_connection: Any) -> bool:
        raw = dbapi_connection.driver_connection
        try:
            await_(raw.fetchrow(";", timeout=ping_timeout))
        except _LOST_CONNECTION:
            raw.terminate()
            return False  # the pool then reconnects (and drops the older connections)
        return True

    dialect.do_ping = bounded_ping  # type: ignore[method-assign]
    event.listen(engine.sync_engine, "handle_error", _drop_stalled_connections)


def ensure_sqlite_directory(url: str) -> None:
    """SQLite creates the file but not its folder; make the folder."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """Owns the engine; hands out sessions scoped to an org (or to the whole system)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        timeout: float = 5.0,
        statement_timeout_ms: int | None = None,
    ) -> None:
        self.url = make_url(url)
        self.timeout = timeout
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            ensure_sqlite_directory(url)
            self.engine: AsyncEngine = create_async_engine(
                self.url, connect_args={"timeout": timeout}
            )
            sync_engine = self.engine.sync_engine
            event.listen(sync_engine, "connect", sqlite.on_connect)
            event.listen(sync_engine, "begin", sqlite.on_begin)
            event.listen(sync_engine, "commit", sqlite.on_end)
            event.listen(sync_engine, "rollback", sqlite.on_end)
            event.listen(sync_engine, "before_cursor_execute", sqlite.refuse_nested_write)
        else:
            self.engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_timeout=timeout,
                connect_args=postgres_connect_args(timeout, statement_timeout_ms),
            )
            bound_postgres_waits(self.engine, timeout)
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=TenantSession
        )
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._read_sessions = async_sessionmaker(
            self.read_engine, expire_on_commit=False, sync_session_class=TenantSession
        )

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def session(
        self,
        org_id: uuid.UUID | None = None,
        *,
        readonly: bool = False,
    ) -> AsyncSession:
        """A new session working for ``org_id`` (no org: tenant rows are invisible on PG).

        It writes (BEGIN IMMEDIATE on SQLite) unless ``readonly``: the choice is made
        here, never by callers."""
        session = (self._read_sessions if readonly else self._sessions)()
        if readonly:
            session.info[READ_ONLY] = True
        if org_id is not None:
            session.info[ORG_KEY] = org_id
        return session

    def system_session(self, *, readonly: bool = False) -> AsyncSession:
        """A session for work that spans orgs (workers, migrations of data, seeding), or on
        platform tables no org owns; ``readonly`` as for ``session``."""
        session = self.session(readonly=readonly)
        session.info[SYSTEM_KEY] = True
        return session

    @asynccontextmanager
    async def unit_of_work(
        self,
        org_id: uuid.UUID | None = None,
        *,
        system: bool = False,
        readonly: bool = False,
    ) -> AsyncIterator[AsyncSession]:
        """Commit once when the block succeeds; roll back when it raises. A writing unit
        takes SQLite's write lock at BEGIN; ``readonly`` reads a snapshot beside the
        writers and refuses any write."""
        session = (
            self.system_session(readonly=readonly)
            if system
            else self.session(org_id, readonly=readonly)
        )
        async with session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def reader(
        self, org_id: uuid.UUID | None = None, *, system: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work: ``unit_of_work(..., readonly=True)``."""
        async with self.unit_of_work(org_id, system=system, readonly=True) as session:
            yield session

    async def ping(self) -> None:
        """One round trip to the database, bounded by the configured timeout."""

        async def _ping() -> None:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await asyncio.wait_for(_ping(), timeout=self.timeout)

    async def dispose(self) -> None:
        await self.engine.dispose()
