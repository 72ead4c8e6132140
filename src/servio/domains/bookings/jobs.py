"""Scheduled work on bookings across every org: releasing unpaid holds past their time
and queuing the reminders that fall due. Each org runs in a transaction of its own, so
one org's failure neither undoes nor stops another's."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import reminders, service
from servio.platform.db import Database
from servio.platform.jobs import Job
from servio.platform.jobs.cron import EVERY_FIVE_MINUTES, EVERY_MINUTE
from servio.platform.jobs.per_org import in_each_org
from servio.platform.manifest import Core


async def expire_holds_everywhere(db: Database) -> int:
    """Release every org's unpaid holds past their time; returns how many."""
    return await in_each_org(
        db, "bookings.expire_holds", service.orgs_with_expired_holds, service.expire_holds
    )


async def queue_reminders_everywhere(db: Database) -> int:
    """Queue the reminders due in every org; returns how many."""

    async def remind(s: AsyncSession, org_id: uuid.UUID) -> int:
        return (await reminders.queue_reminders(s, org_id)).reminders_queued

    return await in_each_org(
        db, "bookings.send_reminders", reminders.orgs_with_reminders_ahead, remind
    )


def jobs(_needs: Core) -> list[Job]:
    """Unpaid holds are released every minute, across every org; reminders falling due
    are queued every five minutes."""
    return [
        Job("bookings.expire_holds", EVERY_MINUTE, expire_holds_everywhere, timeout_seconds=300),
        Job(
            "bookings.send_reminders",
            EVERY_FIVE_MINUTES,
            queue_reminders_everywhere,
            timeout_seconds=600,
        ),
    ]
