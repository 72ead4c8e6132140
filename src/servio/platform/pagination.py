"""Keyset pages: opaque cursors over (timestamp, id), stable while rows are added, and
the one way every list reads a page (``keyset_page``)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from servio.platform.errors import DomainError

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class InvalidCursor(DomainError):
    status = 400
    type = "invalid-cursor"
    title = "Invalid cursor"
    description = (
        "The cursor was not issued by this listing or was altered; list again without one."
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` fetches the rest (None: no more)."""

    items: list[T]
    next_cursor: str | None


class Keyset(Protocol[T_contra]):
    """How a list orders its rows and continues after the last row of a page."""

    def order(self) -> Sequence[ColumnElement[Any]]: ...

    def after(self, cursor: str) -> ColumnElement[bool]: ...

    def cursor_of(self, row: T_contra) -> str: ...


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps({"at": at.isoformat(), "id": str(row_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) of the last row of the previous page; 400 when not ours."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(raw["at"])
        row_id = uuid.UUID(raw["id"])
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidCursor() from exc
    if at.tzinfo is None:
        raise InvalidCursor()
    return at, row_id


def after_cursor(
    at_column: SQLColumnExpression[datetime],
    id_column: SQLColumnExpression[uuid.UUID],
    cursor: str,
    *,
    descending: bool = True,
) -> ColumnElement[bool]:
    """Rows that come after the cursor in (at, id) order, newest first unless
    ``descending`` is False."""
    at, row_id = decode_cursor(cursor)
    if descending:
        return or_(at_column < at, and_(at_column == at, id_column < row_id))
    return or_(at_column > at, and_(at_column == at, id_column > row_id))


@dataclass(frozen=True)
class ByTimeAndId:
    """Rows ordered by a timestamp column then their id (newest first by default)."""

    at: InstrumentedAttribute[datetime]
    id: InstrumentedAttribute[uuid.UUID]
    descending: bool = True

    def order(self) -> Sequence[ColumnElement[Any]]:
        if self.descending:
            return (self.at.desc(), self.id.desc())
        return (self.at.asc(), self.id.asc())

    def after(self, cursor: str) -> ColumnElement[bool]:
        return after_cursor(self.at, self.id, cursor, descending=self.descending)

    def cursor_of(self, row: Any) -> str:
        return encode_cursor(getattr(row, self.at.key), getattr(row, self.id.key))


def page_of(rows: Sequence[T], limit: int, keyset: Keyset[T]) -> Page[T]:
    """The first ``limit`` of ``rows`` (read with one extra to know whether more follow)."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page(items, keyset.cursor_of(items[-1]) if more else None)


def continued(statement: Select[T], keyset: Keyset[T], cursor: str | None) -> Select[T]:
    """``statement`` in the keyset's order, after ``cursor`` (400 when not ours)."""
    if cursor is not None:
        statement = statement.where(keyset.after(cursor))
    return statement.order_by(*keyset.order())


async def keyset_page(
    session: AsyncSession,
    statement: Select[T],
    keyset: Keyset[T],
    *,
    cursor: str | None,
    limit: int,
) -> Page[T]:
    """One page of ``statement``'s rows in the keyset's order, after ``cursor``."""
    rows = (await session.scalars(continued(statement, keyset, cursor).limit(limit + 1))).all()
    return page_of(rows, limit, keyset)
