"""Reading one chain newest first, filtered, a page at a time.

The cursor is opaque to clients: URL-safe base64 of ``{"seq": n}``, the last event of
the page; the next page starts below it. ``seq`` orders a chain exactly, unlike clock
time, which can repeat or step back between servers.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.audit.models import AuditEvent, chain_of
from servio.platform.db.scoped import in_org
from servio.platform.errors import DomainError
from servio.platform.pagination import Page as Page
from servio.platform.pagination import keyset_page

MAX_PAGE = 200


class InvalidAuditCursor(DomainError):
    """A client sent back a cursor this listing never issued."""

    status = 400
    type = "invalid-audit-cursor"
    title = "Invalid cursor"
    description = (
        "The cursor was not issued by this audit log listing or was altered; "
        "list again without a cursor."
    )


def encode_cursor(seq: int) -> str:
    raw = json.dumps({"seq": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        seq = json.loads(raw)["seq"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidAuditCursor() from exc
    if type(seq) is not int or seq < 1:
        raise InvalidAuditCursor()
    return seq


class BySeq:
    """Events newest first by their place in the chain."""

    def order(self) -> Sequence[ColumnElement[Any]]:
        return (AuditEvent.seq.desc(),)

    def after(self, cursor: str) -> ColumnElement[bool]:
        return AuditEvent.seq < decode_cursor(cursor)

    def cursor_of(self, row: AuditEvent) -> str:
        return encode_cursor(row.seq)


def _filtered(
    statement: Select[AuditEvent],
    *,
    action: str | None,
    actor: str | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[AuditEvent]:
    if action is not None:
        # "auth.*" lists every auth event; anything else is an exact action.
        if action.endswith(".*"):
            statement = statement.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            statement = statement.where(AuditEvent.action == action)
    if actor is not None:
        statement = statement.where(AuditEvent.actor == actor)
    if target is not None:
        statement = statement.where(AuditEvent.target == target)
    if since is not None:
        statement = statement.where(AuditEvent.created_at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.created_at < until)
    return statement


async def list_events(
    session: AsyncSession,
    *,
    org_id: uuid.UUID | None,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditEvent]:
    """One page of an org's events (None: the deployment's), newest first; ``since`` is
    inclusive, ``until`` exclusive. A cursor not issued here is refused (400)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    org_rows = AuditEvent.org_id.is_(None) if org_id is None else in_org(AuditEvent, org_id)
    statement = select(AuditEvent).where(AuditEvent.chain_id == chain_of(org_id), org_rows)
    statement = _filtered(
        statement, action=action, actor=actor, target=target, since=since, until=until
    )
    return await keyset_page(session, statement, BySeq(), cursor=cursor, limit=limit)
