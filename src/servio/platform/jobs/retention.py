"""The platform's own scheduled jobs: retention of processed inbound events and finished
job runs (daily) and of expired idempotency keys (hourly)."""

from __future__ import annotations

from datetime import timedelta

from servio.platform import idempotency, inbox
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.jobs.cron import DAILY_AT_0300, DAILY_AT_0330, HOURLY
from servio.platform.jobs.history import prune_runs
from servio.platform.jobs.registry import Job


def platform_jobs(settings: Settings) -> list[Job]:
    retention = timedelta(days=settings.inbox_retention_days)
    runs_retention = timedelta(days=settings.job_runs_retention_days)

    async def prune_inbox(db: Database) -> int:
        return await inbox.prune_processed(db, older_than=retention)

    async def prune_idempotency_keys(db: Database) -> int:
        return await idempotency.prune_expired(db)

    async def prune_job_runs(db: Database) -> int:
        return await prune_runs(db, older_than=runs_retention)

    return [
        Job("inbox.prune", DAILY_AT_0300, prune_inbox, timeout_seconds=1800),
        Job("idempotency.prune", HOURLY, prune_idempotency_keys, timeout_seconds=600),
        Job("jobs.prune_runs", DAILY_AT_0330, prune_job_runs, timeout_seconds=1800),
    ]
