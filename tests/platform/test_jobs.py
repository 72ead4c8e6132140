"""Scheduled jobs: one run per fire time, failures and timeouts recorded without stopping
the worker, one catch-up run after downtime, schedules synced when a worker starts, and
``servio worker --once`` running what is due. Leases: ``test_job_leases.py``."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from servio.platform.db import Database, utcnow
from servio.platform.idempotency import IdempotencyKey
from servio.platform.jobs import JobRun, JobRunner, JobSchedule
from servio.platform.jobs.history import prune_runs
from servio.platform.worker import Worker, WorkRegistry
from tests.support.jobs import (
    EVERY_MINUTE,
    HOURLY,
    Calls,
    due,
    job,
    registry,
    runs_of,
    schedule_row,
    set_row,
)


def test_a_job_needs_a_cron_schedule_and_a_unique_name() -> None:
    calls = Calls()
    with pytest.raises(ValueError, match="not a cron expression"):
        job("bad", calls, schedule="every hour")
    with pytest.raises(ValueError, match="timeout_seconds"):
        job("bad", calls, timeout=0)
    jobs = registry(job("a", calls))
    with pytest.raises(ValueError, match="registered twice"):
        jobs.register(job("a", calls))


async def test_worker_start_creates_rows_first_due_at_the_next_fire_time(db: Database) -> None:
    calls = Calls()
    before = utcnow()
    assert await JobRunner(registry(job("report", calls))).run_due(db) == 0
    row = await schedule_row(db, "report")
    assert row.schedule == HOURLY
    assert before < row.next_run_at <= before + timedelta(hours=1)
    assert (row.next_run_at.minute, row.next_run_at.second) == (0, 0)
    assert row.lease_owner is None
    assert (row.runs, row.failures) == (0, 0)
    assert calls == {}


async def test_a_job_runs_once_per_fire_time(db: Database) -> None:
    clock = [datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)]
    calls = Calls()
    jobs = registry(job("tick", calls, schedule=EVERY_MINUTE))
    runners = [JobRunner(jobs, worker_id=f"w-{n}", clock=lambda: clock[0]) for n in range(2)]

    async def race() -> int:
        return sum(await asyncio.gather(*(r.run_due(db) for r in runners)))

    assert await race() == 0  # synced: first due at 10:01
    assert (await schedule_row(db, "tick")).next_run_at == datetime(2026, 3, 1, 10, 1, tzinfo=UTC)
    for moment, ran in [((10, 1, 5), 1), ((10, 1, 50), 0), ((10, 2, 0), 1), ((10, 2, 1), 0)]:
        clock[0] = clock[0].replace(hour=moment[0], minute=moment[1], second=moment[2])
        assert await race() == ran, moment
    assert calls == {"tick": 2}
    assert (await schedule_row(db, "tick")).next_run_at == datetime(2026, 3, 1, 10, 3, tzinfo=UTC)


async def test_after_downtime_a_job_runs_once_and_moves_to_its_next_fire_time(
    db: Database,
) -> None:
    calls = Calls()
    jobs = registry(job("hourly", calls))
    await due(db, jobs, "hourly", ago=timedelta(days=3))  # 72 fire times missed
    runner = JobRunner(jobs)
    assert await runner.run_due(db) == 1
    assert await runner.run_due(db) == 0
    assert calls == {"hourly": 1}
    row = await schedule_row(db, "hourly")
    now = utcnow()
    assert now < row.next_run_at <= now + timedelta(hours=1)
    assert row.runs == 1


async def test_a_failing_job_records_its_error_and_the_next_job_still_runs(
    db: Database,
) -> None:
    calls = Calls()
    jobs = registry(job("broken", calls, fail=True), job("fine", calls))
    await due(db, jobs, "broken", "fine")
    work = WorkRegistry()
    work.register("jobs", JobRunner(jobs))
    await Worker(db, work).run(once=True)  # does not raise
    assert calls == {"broken": 1, "fine": 1}
    broken = await schedule_row(db, "broken")
    assert broken.last_error == "RuntimeError: broken broke"
    assert (broken.runs, broken.failures, broken.last_success_at) == (1, 1, None)
    assert broken.last_finished_at is not None
    assert broken.next_run_at > utcnow()
    assert broken.lease_owner is None
    [failed] = await runs_of(db, "broken")
    assert (failed.outcome, failed.error, failed.count) == (
        "error",
        "RuntimeError: broken broke",
        None,
    )
    fine = await schedule_row(db, "fine")
    assert (fine.runs, fine.failures, fine.last_error) == (1, 0, None)
    assert fine.last_success_at is not None


async def test_a_success_clears_the_last_error(db: Database) -> None:
    calls = Calls()
    flaky = registry(job("flaky", calls, fail=True))
    await due(db, flaky, "flaky")
    await JobRunner(flaky).run_due(db)
    fixed = registry(job("flaky", calls))
    await due(db, fixed, "flaky")
    await JobRunner(fixed).run_due(db)
    row = await schedule_row(db, "flaky")
    assert (row.last_error, row.runs, row.failures) == (None, 2, 1)
    assert [r.outcome for r in await runs_of(db, "flaky")] == ["error", "ok"]


async def test_a_job_past_its_timeout_is_cancelled_and_recorded(db: Database) -> None:
    calls = Calls()
    jobs = registry(job("slow", calls, delay=30, timeout=0.2))
    await due(db, jobs, "slow")
    assert await asyncio.wait_for(JobRunner(jobs).run_due(db), 20) == 1
    [run] = await runs_of(db, "slow")
    assert (run.outcome, run.error) == ("timeout", "timed out after 0.2 s")
    row = await schedule_row(db, "slow")
    assert (row.failures, row.last_error) == (1, "timed out after 0.2 s")
    assert row.next_run_at > utcnow()


async def test_a_changed_schedule_is_synced_and_an_unchanged_one_kept(db: Database) -> None:
    calls = Calls()
    await JobRunner(registry(job("digest", calls))).run_due(db)
    pinned = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    await set_row(db, "digest", next_run_at=pinned, runs=3)
    await JobRunner(registry(job("digest", calls))).run_due(db)
    assert (await schedule_row(db, "digest")).next_run_at == pinned

    await JobRunner(registry(job("digest", calls, schedule="*/5 * * * *"))).run_due(db)
    row = await schedule_row(db, "digest")
    now = utcnow()
    assert row.schedule == "*/5 * * * *"
    assert now < row.next_run_at <= now + timedelta(minutes=5)
    assert row.next_run_at.minute % 5 == 0
    assert row.runs == 3  # history kept
    assert calls == {}


@pytest.mark.slow
async def test_servio_worker_once_runs_due_jobs_and_exits(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    now = utcnow()
    async with db.system_session() as session, session.begin():
        session.add(
            JobSchedule(
                name="idempotency.prune",
                schedule="0 * * * *",
                next_run_at=now - timedelta(hours=2),
                runs=0,
                failures=0,
            )
        )
        session.add(
            IdempotencyKey(
                scope="s",
                key="k",
                fingerprint="f" * 64,
                created_at=now - timedelta(days=2),
                expires_at=now - timedelta(days=1),
            )
        )
    env = {**os.environ, "SERVIO_ENV": "test", "SERVIO_DATABASE_URL": db_url}
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "servio.cli", "worker", "--once"],
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    [run] = await runs_of(db, "idempotency.prune")
    assert (run.outcome, run.count) == ("ok", 1)
    async with db.system_session() as session:
        assert await session.scalar(select(IdempotencyKey)) is None
        names = set(await session.scalars(select(JobSchedule.name)))
    assert names == {  # synced at start
        "inbox.prune",
        "idempotency.prune",
        "jobs.prune_runs",
        "conversations.mark_stale",
        "conversations.whatsapp_reminders",
        "bookings.expire_holds",
        "bookings.send_reminders",
    }
    assert await runs_of(db, "inbox.prune") == []  # not due yet
    assert (await schedule_row(db, "idempotency.prune")).next_run_at > now


async def test_old_finished_runs_are_pruned_and_running_ones_kept(db: Database) -> None:
    now = utcnow()
    rows = {
        "old-done": (now - timedelta(days=40), now - timedelta(days=40)),
        "old-running": (now - timedelta(days=40), None),
        "new-done": (now - timedelta(days=2), now - timedelta(days=2)),
    }
    async with db.system_session() as session, session.begin():
        for worker, (started, finished) in rows.items():
            session.add(
                JobRun(
                    job="inbox.prune",
                    worker_id=worker,
                    started_at=started,
                    finished_at=finished,
                    heartbeat_at=started,
                    outcome="ok" if finished else None,
                )
            )
    assert await prune_runs(db, older_than=timedelta(days=30), now=now) == 1
    async with db.system_session() as session:
        left = set(await session.scalars(select(JobRun.worker_id)))
    assert left == {"old-running", "new-done"}
