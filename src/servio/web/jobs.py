"""The deployment's scheduled jobs, registered in one place the container calls.

Platform retention jobs come first; a domain adds its own by registering ``Job``s on
the container's registry (``container.jobs.register(Job(...))``) before the worker runs.
"""

from __future__ import annotations

from datetime import timedelta

from servio.platform import idempotency, inbox
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.jobs import Job, JobRegistry

DAILY_AT_0300 = "0 3 * * *"
HOURLY = "0 * * * *"


def register_platform_jobs(jobs: JobRegistry, settings: Settings) -> None:
    """Retention of processed inbound events (daily) and of expired idempotency keys
    (hourly)."""
    retention = timedelta(days=settings.inbox_retention_days)

    async def prune_inbox(db: Database) -> int:
        return await inbox.prune_processed(db, older_than=retention)

    async def prune_idempotency_keys(db: Database) -> int:
        return await idempotency.prune_expired(db)

    jobs.register(Job("inbox.prune", DAILY_AT_0300, prune_inbox, timeout_seconds=1800))
    jobs.register(Job("idempotency.prune", HOURLY, prune_idempotency_keys, timeout_seconds=600))
