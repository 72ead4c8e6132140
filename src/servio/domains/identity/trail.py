"""Identity's entries in the audit log: security events and admin writes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.audit import record
from servio.platform.db import Database
from servio.platform.security.principal import Principal


async def trail(
    s: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    *,
    ip: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append what ``principal`` did in its org, inside the caller's transaction."""
    await record(
        s,
        org_id=principal.org_id,
        actor=principal.actor,
        action=action,
        target=target,
        ip=ip,
        before=before,
        after=after,
    )


async def trail_apart(
    db: Database,
    *,
    org_id: uuid.UUID | None,
    actor: str,
    action: str,
    target: str,
    ip: str | None,
    after: Any = None,
) -> None:
    """Append in a transaction of its own: for events whose request then fails (a wrong
    password, a reused refresh token), which would otherwise roll the entry back."""
    async with db.unit_of_work(system=True) as s:
        await record(
            s, org_id=org_id, actor=actor, action=action, target=target, ip=ip, after=after
        )
