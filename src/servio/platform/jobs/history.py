"""Keeping ``job_runs`` short: finished runs older than the retention go (the status
page reads ``job_schedules``, which keeps each job's last run and success)."""

from __future__ import annotations

from datetime import datetime, timedelta

from servio.platform.db import Database, utcnow
from servio.platform.db.pruning import delete_in_batches
from servio.platform.jobs.models import JobRun


async def prune_runs(db: Database, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete finished runs that started more than ``older_than`` ago; runs still
    going stay. Returns how many went."""
    cutoff = (now or utcnow()) - older_than
    return await delete_in_batches(
        db, JobRun, (JobRun.started_at < cutoff) & JobRun.finished_at.is_not(None)
    )
