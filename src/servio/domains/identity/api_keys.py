"""Per-org API keys: shown once, stored as prefix + SHA-256, scoped to permissions."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity.models import ApiKey
from servio.domains.identity.permissions import PERMISSIONS
from servio.platform.db import utcnow
from servio.platform.db.scoped import get_owned, owned
from servio.platform.errors import DomainError, NotFound
from servio.platform.security.opaque import digest, same

KEY_PREFIX = "svk_"


class InvalidPermissions(DomainError):
    status = 422
    type = "invalid-permissions"
    title = "Unknown permissions"


class KeyExceedsCreator(DomainError):
    status = 403
    type = "key-exceeds-creator"
    title = "A key may not hold permissions its creator lacks"


class ApiKeyNotFound(NotFound):
    type = "api-key-not-found"
    title = "No such API key"


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    key: str


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, key) when ``key`` looks like one of ours."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    prefix, sep, rest = key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not rest:
        return None
    return prefix, key


async def create(
    s: AsyncSession,
    *,
    org_id: uuid.UUID,
    created_by: uuid.UUID | None,
    creator_permissions: frozenset[str],
    name: str,
    permissions: list[str] | None,
    expires_in_days: int | None,
) -> NewKey:
    wanted = sorted(set(permissions)) if permissions is not None else sorted(creator_permissions)
    unknown = [p for p in wanted if p not in PERMISSIONS]
    if unknown:
        raise InvalidPermissions(
            f"Unknown permissions: {', '.join(unknown)}.", extra={"unknown": unknown}
        )
    beyond = [p for p in wanted if p not in creator_permissions]
    if beyond:
        raise KeyExceedsCreator(
            f"You do not hold: {', '.join(beyond)}.", extra={"permissions": beyond}
        )
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        org_id=org_id,
        name=name,
        prefix=prefix,
        key_hash=digest(key),
        permissions=wanted,
        created_by=created_by,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    s.add(row)
    await s.flush()
    return NewKey(row=row, key=key)


async def find_valid(s: AsyncSession, key: str) -> ApiKey | None:
    """The live key matching ``key`` (constant-time digest comparison), or None."""
    parts = split_key(key)
    if parts is None:
        return None
    row = await s.scalar(select(ApiKey).where(ApiKey.prefix == parts[0]))
    if row is None or not same(row.key_hash, digest(key)):
        return None
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row


async def list_keys(s: AsyncSession, org_id: uuid.UUID) -> list[ApiKey]:
    rows = await s.scalars(owned(ApiKey, org_id).order_by(ApiKey.created_at.desc()))
    return list(rows)


async def revoke(s: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    missing = ApiKeyNotFound("No such API key in this business.")
    row = await get_owned(s, ApiKey, key_id, org_id, missing=missing)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
