"""How a row is sealed: SHA-256 over a canonical JSON of its fields and ``prev_hash``.

Canonical means sorted keys, no whitespace, UUIDs as text and the timestamp as UTC ISO
8601 with microseconds, so the same row read back from SQLite or PostgreSQL hashes to
the same value it was written with.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from servio.platform.audit.models import AuditEvent

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event of every chain."""


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "org_id": None if event.org_id is None else str(event.org_id),
        "chain_id": str(event.chain_id),
        "seq": event.seq,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "ip": event.ip,
        "request_id": event.request_id,
        "before": event.before,
        "after": event.after,
        "created_at": _instant(event.created_at),
        "prev_hash": event.prev_hash,
    }


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def seal(event: AuditEvent) -> str:
    """The hash ``event`` must carry: it changes when any field or ``prev_hash`` does."""
    return hashlib.sha256(canonical_json(canonical_fields(event)).encode()).hexdigest()
