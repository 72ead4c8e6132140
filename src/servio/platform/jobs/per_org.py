"""A scheduled job's work done org by org: the orgs with work are found across orgs
(system scope), then each runs in a transaction of its own under its org (row-level
security on), so one org's failure neither undoes nor stops another's."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import Database, utcnow
from servio.platform.logging import get_logger

log = get_logger("servio.jobs")

FindOrgs = Callable[[AsyncSession, datetime], Awaitable[list[uuid.UUID]]]
OrgWork = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]


class OrgsFailed(RuntimeError):
    """Some orgs' work failed (each is logged); the others' was done."""


async def in_each_org(
    db: Database, job: str, find_orgs: FindOrgs, work: OrgWork, *, now: datetime | None = None
) -> int:
    """Run ``work`` for every org ``find_orgs`` names; returns the sum of what each
    returned. Raises ``OrgsFailed`` after the others when any org failed, so the run is
    recorded as an error."""
    now = now or utcnow()
    async with db.system_session() as s:
        org_ids = await find_orgs(s, now)
    done, failed = 0, 0
    for org_id in org_ids:
        try:
            async with db.unit_of_work(org_id) as s:
                done += await work(s, org_id)
        except Exception:
            failed += 1
            log.exception("org_job_failed", job=job, org_id=str(org_id))
    if failed:
        raise OrgsFailed(f"{failed} of {len(org_ids)} orgs failed ({done} done in the others)")
    return done
