"""Appending to a chain: ``record`` runs inside the caller's transaction and never commits.

Two transactions appending to one chain must not both read the same last event, or the
chain forks. PostgreSQL: a transaction-scoped advisory lock keyed on the chain is taken
before the last event is read. SQLite: the transaction takes the database's write lock
first (a write statement that changes nothing), so appends queue up behind each other.
Either way the unique ``(chain_id, seq)`` makes a fork fail on insert. The lock lasts
until the caller's transaction ends, so record late in a transaction, not early.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.audit.models import AuditEvent, chain_of
from servio.platform.audit.redaction import redact_snapshot
from servio.platform.audit.sealing import GENESIS, seal
from servio.platform.db import utcnow
from servio.platform.db.engine import ORG_KEY, SYSTEM_KEY
from servio.platform.logging import REQUEST_ID, redact_text

# Advisory locks of the audit log live in their own class (the first key), apart from
# other subsystems' locks; a clash of two chains on the second key only makes them queue.
_LOCK_CLASS = int.from_bytes(hashlib.sha256(b"servio.audit").digest()[:4], "big", signed=True)

_PG_LOCK = text("SELECT pg_advisory_xact_lock(:lock_class, :chain_key)")
_SQLITE_WRITE_LOCK = text("UPDATE audit_events SET seq = seq WHERE 0")


class AuditScopeError(RuntimeError):
    """The session cannot see the chain it would extend: a programming error."""


def chain_lock_key(chain_id: uuid.UUID) -> int:
    return int.from_bytes(hashlib.sha256(chain_id.bytes).digest()[:4], "big", signed=True)


def _require_scope(session: AsyncSession, org_id: uuid.UUID | None) -> None:
    # Row-level security on PostgreSQL would hide the chain (and refuse the insert) for
    # any other session; checking here makes SQLite fail the same way.
    if session.info.get(SYSTEM_KEY):
        return
    if org_id is None:
        raise AuditScopeError("deployment-level audit events need a system-scope session")
    if session.info.get(ORG_KEY) != org_id:
        raise AuditScopeError(f"this session does not work for org {org_id}")


def _fit(value: str | None, column: Any) -> str | None:
    """``value`` cut to the length of its column: an event is never lost to a long text."""
    length: int | None = column.type.length
    return value if value is None or length is None else value[:length]


def _address(ip: str | None) -> str | None:
    """The client address in its canonical text form; None when the peer has no IP
    address (a Unix socket, a proxy forwarding ``unknown``): the event is kept anyway."""
    if ip is None:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


async def _serialize_appends(session: AsyncSession, chain_id: uuid.UUID) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(
            _PG_LOCK, {"lock_class": _LOCK_CLASS, "chain_key": chain_lock_key(chain_id)}
        )
    elif dialect == "sqlite":
        await session.execute(_SQLITE_WRITE_LOCK)


async def record(
    session: AsyncSession,
    *,
    org_id: uuid.UUID | None,
    actor: str,
    action: str,
    target: str,
    ip: str | None = None,
    before: Any = None,
    after: Any = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Append an event to the chain of ``org_id`` (None: the deployment's chain) in the
    caller's transaction; it stands or falls with the caller's other writes (an event
    that must outlive a failing request, such as a failed login, needs its own unit of
    work). Deployment events need a system-scope session. Snapshots and the target are
    stored redacted, and a text longer than its column is cut to fit; the request id
    defaults to the one of the request being served."""
    _require_scope(session, org_id)
    chain_id = chain_of(org_id)
    await _serialize_appends(session, chain_id)
    last = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.chain_id == chain_id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
    ).first()
    event = AuditEvent(
        id=uuid.uuid4(),
        org_id=org_id,
        chain_id=chain_id,
        seq=1 if last is None else last.seq + 1,
        actor=_fit(actor, AuditEvent.actor),
        action=_fit(action, AuditEvent.action),
        target=_fit(redact_text(target), AuditEvent.target),
        ip=_address(ip),
        request_id=_fit(
            request_id if request_id is not None else REQUEST_ID.get(), AuditEvent.request_id
        ),
        before=redact_snapshot(before),
        after=redact_snapshot(after),
        created_at=utcnow(),
        prev_hash=GENESIS if last is None else last.hash,
    )
    event.hash = seal(event)
    session.add(event)
    await session.flush()
    return event
