"""Scheduled work on conversations across every org: quiet ones go STALE, then
ABANDONED. Each org runs in a transaction of its own."""

from __future__ import annotations

from datetime import datetime

from servio.domains.conversations import service
from servio.platform.db import Database, utcnow
from servio.platform.logging import get_logger

log = get_logger("servio.conversations")


async def mark_stale_and_abandoned(db: Database, now: datetime | None = None) -> int:
    """Move every org's quiet conversations along; returns how many moved."""
    now = now or utcnow()
    async with db.system_session() as s:
        org_ids = await service.orgs_with_quiet_conversations(s, now)
    moved = 0
    for org_id in org_ids:
        try:
            async with db.unit_of_work(org_id, immediate=True) as s:
                moved += await service.mark_quiet(s, org_id, now)
        except Exception:
            log.exception("org_job_failed", job="conversations.mark_quiet", org_id=str(org_id))
    return moved
