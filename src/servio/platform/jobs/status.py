"""What operators see of the jobs: schedule, last run and success, lag, who runs it now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from servio.platform.db import Database, utcnow
from servio.platform.jobs.models import JobSchedule
from servio.platform.jobs.registry import JobRegistry


@dataclass(frozen=True)
class JobStatus:
    name: str
    schedule: str
    registered: bool
    timeout_seconds: float | None
    next_run_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_duration_ms: int | None
    runs: int
    failures: int
    lag_seconds: float
    running: bool
    lease_owner: str | None
    lease_until: datetime | None


def _from_row(row: JobSchedule, registry: JobRegistry, now: datetime) -> JobStatus:
    job = registry.get(row.name)
    running = row.lease_owner is not None and row.lease_until is not None and row.lease_until > now
    return JobStatus(
        name=row.name,
        schedule=row.schedule,
        registered=job is not None,
        timeout_seconds=job.timeout_seconds if job else None,
        next_run_at=row.next_run_at,
        last_started_at=row.last_started_at,
        last_finished_at=row.last_finished_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_duration_ms=row.last_duration_ms,
        runs=row.runs,
        failures=row.failures,
        lag_seconds=max((now - row.next_run_at).total_seconds(), 0.0),
        running=running,
        lease_owner=row.lease_owner if running else None,
        lease_until=row.lease_until if running else None,
    )


def _not_synced(name: str, registry: JobRegistry) -> JobStatus:
    job = registry.jobs[name]
    return JobStatus(
        name=name,
        schedule=job.schedule,
        registered=True,
        timeout_seconds=job.timeout_seconds,
        next_run_at=None,
        last_started_at=None,
        last_finished_at=None,
        last_success_at=None,
        last_error=None,
        last_duration_ms=None,
        runs=0,
        failures=0,
        lag_seconds=0.0,
        running=False,
        lease_owner=None,
        lease_until=None,
    )


async def job_statuses(
    db: Database, registry: JobRegistry, *, now: datetime | None = None
) -> list[JobStatus]:
    """Every job with a schedule row, and every registered job no worker has synced yet
    (no next run until a worker starts), by name. Lag is how long a due job has waited
    past its fire time; a lease only counts as running until it expires."""
    now = now or utcnow()
    async with db.system_session(readonly=True) as session:
        rows = list(await session.scalars(select(JobSchedule).order_by(JobSchedule.name)))
    statuses = {row.name: _from_row(row, registry, now) for row in rows}
    for job in registry:
        if job.name not in statuses:
            statuses[job.name] = _not_synced(job.name, registry)
    return [statuses[name] for name in sorted(statuses)]
