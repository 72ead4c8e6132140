"""Opaque keyset cursors over (timestamp, id): stable pages while rows are added."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

from servio.platform.errors import DomainError


class InvalidCursor(DomainError):
    status = 400
    type = "invalid-cursor"
    title = "Invalid cursor"
    description = (
        "The cursor was not issued by this listing or was altered; list again without one."
    )


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
    at_column: SQLColumnExpression[datetime], id_column: SQLColumnExpression[uuid.UUID], cursor: str
) -> ColumnElement[bool]:
    """Rows that come after the cursor in (at, id) descending order."""
    at, row_id = decode_cursor(cursor)
    return or_(at_column < at, and_(at_column == at, id_column < row_id))
