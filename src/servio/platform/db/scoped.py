"""Tenant queries start here: ``owned(Model, org_id)`` is the org-scoped ``SELECT`` every
repository builds on, ``in_org`` the same condition for other statements, and
``get_owned`` the one lookup-or-404 by primary key.

The explicit filter is the first guard; the second is the database's (row-level
security on PostgreSQL, the session's loader criteria on SQLite, see
``servio.platform.db.engine``), so a query that forgets ``owned`` still stays inside
the org its unit of work is bound to.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute


class OrgOwned(Protocol):
    """A mapped class whose rows carry the org they belong to."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def org_id(self) -> uuid.UUID | None: ...


RowT = TypeVar("RowT", bound=OrgOwned)


def owned(model: type[RowT], org_id: uuid.UUID) -> Select[RowT]:
    """``SELECT model WHERE model.org_id = org_id``: the start of every tenant query."""
    return select(model).where(in_org(model, org_id))


def in_org(model: type[OrgOwned], org_id: uuid.UUID) -> ColumnElement[bool]:
    """``model.org_id = org_id``, for the statements ``owned`` does not start: a count, a
    column list, a join's ON clause, an UPDATE or DELETE."""
    return _column(model, "org_id") == org_id


async def get_owned(
    session: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    org_id: uuid.UUID,
    *,
    missing: Exception,
    lock: bool = False,
) -> RowT:
    """The org's row with this primary key; raises ``missing`` when there is none, or it
    is another org's (cross-tenant access answers as if the row did not exist). ``lock``
    takes a row lock (``FOR UPDATE`` on PostgreSQL; SQLite's writer already holds the
    database lock)."""
    stmt = owned(model, org_id).where(_column(model, "id") == row_id)
    found = await session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise missing
    return found


def _column(model: type[OrgOwned], name: str) -> QueryableAttribute[Any]:
    attribute: QueryableAttribute[Any] = inspect(model).attrs[name].class_attribute
    return attribute
