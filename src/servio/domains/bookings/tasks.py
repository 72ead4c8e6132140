"""Scheduled work on bookings across every org: releasing unpaid holds past their time
and queuing the reminders that fall due. Each org runs in a transaction of its own, so
one org's failure neither undoes nor stops another's."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import reminders, service
from servio.platform.db import Database, utcnow
from servio.platform.logging import get_logger

log = get_logger("servio.bookings")

OrgWork = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]


class OrgsFailed(RuntimeError):
    """Some orgs' work failed (each is logged); the others' was done."""


async def _in_each_org(
    db: Database,
    job: str,
    find_orgs: Callable[[AsyncSession, datetime], Awaitable[list[uuid.UUID]]],
    work: OrgWork,
) -> int:
    now = utcnow()
    async with db.system_session() as s:
        org_ids = await find_orgs(s, now)
    done, failed = 0, 0
    for org_id in org_ids:
        try:
            async with db.unit_of_work(org_id, immediate=True) as s:
                done += await work(s, org_id)
        except Exception:
            failed += 1
            log.exception("org_job_failed", job=job, org_id=str(org_id))
    if failed:
        raise OrgsFailed(f"{failed} of {len(org_ids)} orgs failed ({done} done in the others)")
    return done


async def expire_holds_everywhere(db: Database) -> int:
    """Release every org's unpaid holds past their time; returns how many."""
    return await _in_each_org(
        db, "bookings.expire_holds", service.orgs_with_expired_holds, service.expire_holds
    )


async def queue_reminders_everywhere(db: Database) -> int:
    """Queue the reminders due in every org; returns how many."""

    async def remind(s: AsyncSession, org_id: uuid.UUID) -> int:
        return (await reminders.queue_reminders(s, org_id)).reminders_queued

    return await _in_each_org(
        db, "bookings.send_reminders", reminders.orgs_with_reminders_ahead, remind
    )
