"""Org read-only mode and break-glass grants that may write through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import BreakGlassGrant
from servio.platform.db import utcnow
from servio.platform.errors import DomainError
from servio.platform.security.principal import Principal

MAX_BREAK_GLASS = timedelta(hours=4)


class BreakGlassNeedsUser(DomainError):
    status = 403
    type = "break-glass-needs-user"
    title = "Break-glass needs a signed-in person"
    description = (
        "API keys cannot start break-glass sessions; a member signs in and gives a reason."
    )


@dataclass(frozen=True)
class Grant:
    row: BreakGlassGrant
    token: str


async def start_break_glass(
    s: AsyncSession, config: AuthConfig, actor: Principal, *, reason: str, ttl_minutes: int
) -> Grant:
    if actor.kind != "user" or actor.user_id is None:
        raise BreakGlassNeedsUser("Sign in as a member to start break-glass.")
    ttl = min(timedelta(minutes=ttl_minutes), MAX_BREAK_GLASS)
    expires: datetime = utcnow() + ttl
    row = BreakGlassGrant(
        org_id=actor.org_id, user_id=actor.user_id, reason=reason, expires_at=expires
    )
    s.add(row)
    await s.flush()
    token = config.keys.issue(
        {
            "sub": str(actor.user_id),
            "org": str(actor.org_id),
            "sid": str(actor.session_id),
            "gid": str(row.id),
        },
        ttl,
        purpose="break_glass",
    )
    return Grant(row=row, token=token)
