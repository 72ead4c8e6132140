"""Running due jobs: one runner per job at a time, across every worker process.

A runner claims a due job with one conditional UPDATE of its schedule row (lease free or
expired, and ``next_run_at`` passed); the rowcount says whether it won, the same on
SQLite and PostgreSQL. While the job runs the runner heartbeats, pushing the lease
forward; a runner that dies stops heartbeating, its lease expires and the next worker
that finds the job due takes it over. A finished run (ok, error or timeout) moves
``next_run_at`` to the schedule's first fire time after now, so after downtime a job
runs once rather than once per missed fire time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import Database, utcnow
from servio.platform.jobs.models import ERROR, OK, OWNER_MAX_LENGTH, TIMEOUT, JobRun, JobSchedule
from servio.platform.jobs.registry import Job, JobRegistry
from servio.platform.jobs.schedules import sync_schedules
from servio.platform.logging import get_logger, redact_text
from servio.platform.worker import current_worker_id

log = get_logger("servio.jobs")

LEASE_SECONDS = 60.0
HEARTBEAT_SECONDS = 15.0
ERROR_MAX_LENGTH = 2000
ABANDONED = "abandoned: its runner stopped heartbeating and the lease expired"
LEASE_LOST = "lease lost to another worker; the run was cancelled"


def _own_id() -> str:
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunResult:
    outcome: str
    count: int | None = None
    error: str | None = None


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact_text(text)[:ERROR_MAX_LENGTH]


def _result_of(task: asyncio.Future[int]) -> RunResult:
    if task.cancelled():
        return RunResult(ERROR, error="cancelled")
    exc = task.exception()
    if exc is not None:
        return RunResult(ERROR, error=_error_text(exc))
    return RunResult(OK, count=int(task.result()))


@dataclass
class JobRunner:
    """Runs the registry's due jobs; also a ``WorkItem`` (call it with a Database).

    The lease holder is the worker running the pass (``current_worker_id``), else
    ``worker_id``. ``lease_seconds`` bounds how long a dead runner blocks a job;
    heartbeats every ``heartbeat_seconds`` keep a live runner's lease."""

    registry: JobRegistry
    lease_seconds: float = LEASE_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    worker_id: str = field(default_factory=_own_id)
    clock: Callable[[], datetime] = utcnow
    _synced: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("heartbeat_seconds must be shorter than lease_seconds")

    @property
    def owner(self) -> str:
        return (current_worker_id.get() or self.worker_id)[:OWNER_MAX_LENGTH]

    async def __call__(self, db: Database) -> int:
        return await self.run_due(db)

    async def run_due(self, db: Database) -> int:
        """Run every due job once, in registration order; returns how many ran. A job's
        failure is recorded on its schedule and never stops the others."""
        if not self._synced:
            await sync_schedules(db, self.registry, now=self.clock())
            self._synced = True
        ran = 0
        for job in await self._due_jobs(db):
            try:
                if await self.run_if_due(db, job):
                    ran += 1
            except Exception:
                log.exception("job_bookkeeping_failed", job=job.name, worker_id=self.owner)
        return ran

    async def run_if_due(self, db: Database, job: Job) -> bool:
        """Claim ``job`` and run it to the end when it is due and nobody holds it."""
        owner = self.owner
        run_id = await self._claim(db, job, owner)
        if run_id is None:
            return False
        loop = asyncio.get_running_loop()
        started = loop.time()
        log.info("job_started", job=job.name, worker_id=owner)
        result = await self._supervise(db, job, owner, run_id)
        duration_ms = int((loop.time() - started) * 1000)
        await self._finish(db, job, owner, run_id, result, duration_ms)
        log.info(
            "job_finished", job=job.name, worker_id=owner, outcome=result.outcome, ms=duration_ms
        )
        return True

    async def _due_jobs(self, db: Database) -> list[Job]:
        if not len(self.registry):
            return []
        now = self.clock()
        async with db.system_session(readonly=True) as session:
            names = set(
                await session.scalars(
                    select(JobSchedule.name).where(
                        JobSchedule.name.in_([job.name for job in self.registry]),
                        JobSchedule.next_run_at <= now,
                        or_(JobSchedule.lease_until.is_(None), JobSchedule.lease_until < now),
                    )
                )
            )
        return [job for job in self.registry if job.name in names]

    async def _claim(self, db: Database, job: Job, owner: str) -> uuid.UUID | None:
        now = self.clock()
        async with db.system_session() as session, session.begin():
            claimed = await session.execute(
                update(JobSchedule)
                .where(
                    JobSchedule.name == job.name,
                    or_(JobSchedule.lease_until.is_(None), JobSchedule.lease_until < now),
                    JobSchedule.next_run_at <= now,
                )
                .values(
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=self.lease_seconds),
                    last_started_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(claimed) != 1:
                return None
            await _close_abandoned_runs(session, job.name, now)
            run_id = uuid.uuid4()
            session.add(
                JobRun(id=run_id, job=job.name, worker_id=owner, started_at=now, heartbeat_at=now)
            )
        return run_id

    async def _supervise(self, db: Database, job: Job, owner: str, run_id: uuid.UUID) -> RunResult:
        """Run the job, heartbeating until it ends, times out or loses its lease."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + job.timeout_seconds
        task: asyncio.Future[int] = asyncio.ensure_future(job.run(db))
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return RunResult(TIMEOUT, error=f"timed out after {job.timeout_seconds:g} s")
                await asyncio.wait({task}, timeout=min(self.heartbeat_seconds, remaining))
                if task.done():
                    return _result_of(task)
                if not await self._heartbeat(db, job.name, owner, run_id):
                    return RunResult(ERROR, error=LEASE_LOST)
        finally:
            if not task.done():
                task.cancel()
                # A job that ignores cancellation is left behind rather than block the worker.
                await asyncio.wait({task}, timeout=self.heartbeat_seconds)

    async def _heartbeat(self, db: Database, name: str, owner: str, run_id: uuid.UUID) -> bool:
        """Extend the lease; False when another worker holds it now. A failed heartbeat
        (database unreachable) keeps the job running: the next one tells."""
        now = self.clock()
        try:
            async with db.system_session() as session, session.begin():
                extended = await session.execute(
                    update(JobSchedule)
                    .where(JobSchedule.name == name, JobSchedule.lease_owner == owner)
                    .values(lease_until=now + timedelta(seconds=self.lease_seconds))
                    .execution_options(synchronize_session=False)
                )
                await session.execute(
                    update(JobRun).where(JobRun.id == run_id).values(heartbeat_at=now)
                )
        except Exception:
            log.warning("job_heartbeat_failed", job=name, worker_id=owner, exc_info=True)
            return True
        return _rowcount(extended) == 1

    async def _finish(
        self,
        db: Database,
        job: Job,
        owner: str,
        run_id: uuid.UUID,
        result: RunResult,
        duration_ms: int,
    ) -> None:
        now = self.clock()
        ok = result.outcome == OK
        async with db.system_session() as session, session.begin():
            await session.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(
                    finished_at=now,
                    heartbeat_at=now,
                    outcome=result.outcome,
                    error=result.error,
                    count=result.count,
                )
            )
            values: dict[str, Any] = {
                "lease_owner": None,
                "lease_until": None,
                "next_run_at": job.next_run_after(now),
                "last_finished_at": now,
                "last_duration_ms": duration_ms,
                # The latest run's failure; a success clears it (history keeps the rest).
                "last_error": result.error,
                "runs": JobSchedule.runs + 1,
                "failures": JobSchedule.failures + (0 if ok else 1),
            }
            if ok:
                values["last_success_at"] = now
            finished = await session.execute(
                update(JobSchedule)
                .where(JobSchedule.name == job.name, JobSchedule.lease_owner == owner)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if _rowcount(finished) != 1:
            log.warning("job_lease_lost", job=job.name, worker_id=owner, outcome=result.outcome)


async def _close_abandoned_runs(session: AsyncSession, job: str, now: datetime) -> None:
    # The lease was free or expired, so any run still open lost its runner.
    await session.execute(
        update(JobRun)
        .where(JobRun.job == job, JobRun.finished_at.is_(None))
        .values(finished_at=now, outcome=ERROR, error=ABANDONED)
    )
