"""``INSERT ... ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL alike.

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
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        result = await session.execute(pg.returning(*primary_key))
    else:
        lite = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        result = await session.execute(lite.returning(*primary_key))
    return result.first() is not None
