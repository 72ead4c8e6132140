"""The deployment's scheduled jobs, registered in one place the container calls.

Platform retention jobs come first, then the domains' (each domain provides the
function, this module gives it a name and a schedule). Plugins may register more on the
container's registry (``container.jobs.register(Job(...))``) before the worker runs.
"""

from __future__ import annotations

from datetime import timedelta

from servio.domains.bookings import tasks as booking_tasks
from servio.domains.conversations import reminders as conversation_reminders
from servio.domains.conversations import tasks as conversation_tasks
from servio.platform import idempotency, inbox
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.jobs import Job, JobRegistry
from servio.platform.jobs.history import prune_runs

DAILY_AT_0300 = "0 3 * * *"
DAILY_AT_0330 = "30 3 * * *"
HOURLY = "0 * * * *"
EVERY_MINUTE = "* * * * *"
EVERY_FIVE_MINUTES = "*/5 * * * *"


def register_platform_jobs(jobs: JobRegistry, settings: Settings) -> None:
    """Retention of processed inbound events and of finished job runs (daily) and of
    expired idempotency keys (hourly)."""
    retention = timedelta(days=settings.inbox_retention_days)
    runs_retention = timedelta(days=settings.job_runs_retention_days)

    async def prune_inbox(db: Database) -> int:
        return await inbox.prune_processed(db, older_than=retention)

    async def prune_idempotency_keys(db: Database) -> int:
        return await idempotency.prune_expired(db)

    jobs.register(Job("inbox.prune", DAILY_AT_0300, prune_inbox, timeout_seconds=1800))

    async def prune_job_runs(db: Database) -> int:
        return await prune_runs(db, older_than=runs_retention)

    jobs.register(Job("idempotency.prune", HOURLY, prune_idempotency_keys, timeout_seconds=600))
    jobs.register(Job("jobs.prune_runs", DAILY_AT_0330, prune_job_runs, timeout_seconds=1800))


def register_domain_jobs(jobs: JobRegistry) -> None:
    """Unpaid booking holds are released every minute, across every org; reminders
    falling due are queued every five minutes; quiet conversations go stale hourly."""
    jobs.register(
        Job(
            "bookings.expire_holds",
            EVERY_MINUTE,
            booking_tasks.expire_holds_everywhere,
            timeout_seconds=300,
        )
    )
    jobs.register(
        Job(
            "bookings.send_reminders",
            EVERY_FIVE_MINUTES,
            booking_tasks.queue_reminders_everywhere,
            timeout_seconds=600,
        )
    )
    jobs.register(
        Job(
            "conversations.mark_stale",
            HOURLY,
            conversation_tasks.mark_stale_and_abandoned,
            timeout_seconds=600,
        )
    )
    jobs.register(
        Job(
            conversation_reminders.JOB,
            EVERY_FIVE_MINUTES,
            conversation_reminders.send_due_everywhere,
            timeout_seconds=600,
        )
    )
