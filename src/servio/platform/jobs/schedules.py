"""Job definitions written to ``job_schedules`` rows when a worker starts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from servio.platform.db import Database
from servio.platform.db.conflicts import insert_if_absent
from servio.platform.jobs.models import JobSchedule
from servio.platform.jobs.registry import JobRegistry
from servio.platform.logging import get_logger

log = get_logger("servio.jobs")


async def sync_schedules(db: Database, registry: JobRegistry, *, now: datetime) -> None:
    """Give every registered job a schedule row, first due at its next fire time, and
    move a job whose schedule changed to the new schedule's next fire time. Rows of jobs
    no longer registered stay (another worker version may still run them)."""
    if not len(registry):
        return
    async with db.system_session() as session, session.begin():
        rows = {
            row.name: row
            for row in await session.scalars(
                select(JobSchedule).where(JobSchedule.name.in_([job.name for job in registry]))
            )
        }
        for job in registry:
            row = rows.get(job.name)
            if row is None:
                # Workers starting together may insert the same row; one wins, quietly.
                await insert_if_absent(
                    session,
                    JobSchedule.__table__,  # type: ignore[arg-type]
                    {
                        "name": job.name,
                        "schedule": job.schedule,
                        "next_run_at": job.next_run_after(now),
                        "runs": 0,
                        "failures": 0,
                    },
                    ["name"],
                )
            elif row.schedule != job.schedule:
                log.info("job_schedule_changed", job=job.name, old=row.schedule, new=job.schedule)
                row.schedule = job.schedule
                row.next_run_at = job.next_run_after(now)
