"""Scheduled work on conversations across every org: quiet ones go STALE, then
ABANDONED. Each org runs in a transaction of its own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import service
from servio.platform.db import Database, utcnow
from servio.platform.jobs.per_org import in_each_org


async def mark_stale_and_abandoned(db: Database, now: datetime | None = None) -> int:
    """Move every org's quiet conversations along; returns how many moved."""

    async def move(s: AsyncSession, org_id: uuid.UUID) -> int:
        return await service.mark_quiet(s, org_id, moment)

    moment = now or utcnow()
    return await in_each_org(
        db, "conversations.mark_stale", service.orgs_with_quiet_conversations, move, now=moment
    )
