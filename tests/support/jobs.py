"""Jobs for tests: functions that count their runs, and ways to read and move schedule rows."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from servio.platform.db import Database, utcnow
from servio.platform.jobs import Job, JobRegistry, JobRun, JobSchedule, sync_schedules

HOURLY = "0 * * * *"
EVERY_MINUTE = "* * * * *"


class Calls(Counter[str]):
    """How many times each job's function was entered."""


def job(
    name: str,
    calls: Calls,
    *,
    schedule: str = HOURLY,
    delay: float = 0.0,
    fail: bool = False,
    timeout: float = 30.0,
) -> Job:
    async def run(_db: Database) -> int:
        calls[name] += 1
        await asyncio.sleep(delay)
        if fail:
            raise RuntimeError(f"{name} broke")
        return 7

    return Job(name, schedule, run, timeout_seconds=timeout)


def registry(*jobs: Job) -> JobRegistry:
    jobs_ = JobRegistry()
    for item in jobs:
        jobs_.register(item)
    return jobs_


async def schedule_row(db: Database, name: str) -> JobSchedule:
    async with db.system_session() as session:
        row = await session.get(JobSchedule, name)
        assert row is not None
        return row


async def runs_of(db: Database, name: str) -> list[JobRun]:
    async with db.system_session() as session:
        rows = await session.scalars(
            select(JobRun).where(JobRun.job == name).order_by(JobRun.started_at)
        )
        return list(rows)


async def set_row(db: Database, name: str, **values: object) -> None:
    async with db.system_session() as session, session.begin():
        await session.execute(update(JobSchedule).where(JobSchedule.name == name).values(values))


async def due(db: Database, jobs: JobRegistry, *names: str, ago: timedelta | None = None) -> None:
    """Sync the rows, then make ``names`` due (their fire time ``ago`` in the past)."""
    await sync_schedules(db, jobs, now=utcnow())
    for name in names:
        await set_row(db, name, next_run_at=utcnow() - (ago or timedelta(seconds=5)))
