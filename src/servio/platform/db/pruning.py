"""Retention: delete old rows in small batches, each in its own short transaction, so a
large backlog never holds one long lock or one huge transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, select

from servio.platform.db.engine import Database

BATCH = 1000


async def delete_in_batches(
    db: Database, model: Any, where: ColumnElement[bool], *, batch: int = BATCH
) -> int:
    """Delete every row of ``model`` (a mapped class with an ``id``) matching ``where``,
    across orgs (system scope); returns how many went."""
    deleted = 0
    while True:
        async with db.system_session() as session, session.begin():
            ids = select(model.id).where(where).limit(batch).scalar_subquery()
            result = await session.execute(
                delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < batch:
            return deleted
