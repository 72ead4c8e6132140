"""Scheduled work on conversations across every org: quiet ones go STALE, then
ABANDONED (hourly); WhatsApp reminders falling due are sent (every five minutes). Each
org runs in a transaction of its own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import reminders, service
from servio.platform.db import Database, utcnow
from servio.platform.jobs import Job
from servio.platform.jobs.cron import EVERY_FIVE_MINUTES, HOURLY
from servio.platform.jobs.per_org import in_each_org
from servio.platform.manifest import Core


async def mark_stale_and_abandoned(db: Database, now: datetime | None = None) -> int:
    """Move every org's quiet conversations along; returns how many moved."""

    async def move(s: AsyncSession, org_id: uuid.UUID) -> int:
        return await service.mark_quiet(s, org_id, moment)

    moment = now or utcnow()
    return await in_each_org(
        db, "conversations.mark_stale", service.orgs_with_quiet_conversations, move, now=moment
    )


def jobs(_needs: Core) -> list[Job]:
    return [
        Job("conversations.mark_stale", HOURLY, mark_stale_and_abandoned, timeout_seconds=600),
        Job(
            reminders.JOB,
            EVERY_FIVE_MINUTES,
            reminders.send_due_everywhere,
            timeout_seconds=600,
        ),
    ]
