"""``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL alike.

``conflict_insert`` is the dialect's ``INSERT`` that takes ``ON CONFLICT`` clauses
(``on_conflict_do_nothing``, ``on_conflict_do_update``), both dialects spelling them
the same way. ``insert_if_absent`` inserts a row unless its key exists:
Of concurrent inserts of one unique key, one lands and the others do nothing instead of
failing (on PostgreSQL they wait for the first to commit or roll back), so callers read
the row afterwards whoever won; ``RETURNING`` the primary key tells the winner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def conflict_insert(
    on: AsyncSession | str, target: type[DeclarativeBase] | Table
) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into ``target`` in the dialect of the session ``on`` (or the named
    dialect, ``"postgresql"`` or ``"sqlite"``)."""
    dialect = on if isinstance(on, str) else on.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


async def insert_if_absent(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
) -> bool:
    """Insert ``values`` unless a row with the same ``conflict_columns`` exists;
    True when this statement inserted the row."""
    keys = list(conflict_columns)
    primary_key = list(table.primary_key.columns)
    statement = conflict_insert(session, table).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=keys)
    result = await session.execute(statement.returning(*primary_key))
    return result.first() is not None
