"""Job leases: of any number of runners racing for a due job exactly one runs it; a live
lease is respected, heartbeats keep a long run's lease, a dead runner's expired lease is
taken over, and a runner that lost its lease stops."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from servio.platform.db import Database, utcnow
from servio.platform.jobs import Job, JobRun, JobRunner
from servio.platform.jobs.runner import ABANDONED, LEASE_LOST
from servio.platform.worker import Worker, WorkRegistry
from tests.support.jobs import HOURLY, Calls, due, job, registry, runs_of, schedule_row, set_row


async def test_a_due_job_runs_once_when_two_runners_race(db: Database, db_url: str) -> None:
    calls = Calls()
    jobs = registry(job("report", calls, delay=0.2))
    await due(db, jobs, "report")
    other_process = Database(db_url)  # a second worker process has its own engine
    try:
        done = await asyncio.gather(
            JobRunner(jobs, worker_id="w-a").run_due(db),
            JobRunner(jobs, worker_id="w-b").run_due(other_process),
        )
    finally:
        await other_process.dispose()
    assert sorted(done) == [0, 1]
    assert calls == {"report": 1}
    [run] = await runs_of(db, "report")
    assert (run.outcome, run.count, run.error) == ("ok", 7, None)
    assert run.worker_id == ("w-a" if done[0] else "w-b")
    row = await schedule_row(db, "report")
    assert row.lease_owner is None
    assert row.lease_until is None
    assert row.next_run_at > utcnow()
    assert (row.runs, row.failures, row.last_error) == (1, 0, None)
    assert row.last_success_at == row.last_finished_at == run.finished_at
    assert row.last_duration_ms is not None
    assert row.last_duration_ms >= 200
    # Not due again before its next fire time.
    assert await JobRunner(jobs).run_due(db) == 0


async def test_many_concurrent_worker_passes_run_a_due_job_once(db: Database) -> None:
    calls = Calls()
    jobs = registry(job("report", calls, delay=0.1))
    await due(db, jobs, "report")
    work = WorkRegistry()
    work.register("jobs", JobRunner(jobs))
    workers = [Worker(db, work) for _ in range(4)]
    assert sum(await asyncio.gather(*(w.run_pass() for w in workers))) == 1
    assert calls == {"report": 1}
    [run] = await runs_of(db, "report")
    # The lease holder is the worker whose pass ran the job.
    assert run.worker_id in {w.worker_id for w in workers}


async def test_a_live_lease_is_respected(db: Database) -> None:
    calls = Calls()
    jobs = registry(job("report", calls))
    await due(db, jobs, "report")
    await set_row(db, "report", lease_owner="busy-worker", lease_until=utcnow() + timedelta(60))
    assert await JobRunner(jobs).run_due(db) == 0
    assert calls == {}


async def test_a_crashed_runners_expired_lease_is_taken_over(db: Database) -> None:
    calls = Calls()
    jobs = registry(job("report", calls))
    await due(db, jobs, "report", ago=timedelta(minutes=10))
    crashed_at = utcnow() - timedelta(minutes=5)
    await set_row(
        db,
        "report",
        lease_owner="dead-host:1:dead",
        lease_until=crashed_at + timedelta(seconds=60),
        last_started_at=crashed_at,
    )
    async with db.system_session() as session, session.begin():
        session.add(
            JobRun(
                job="report",
                worker_id="dead-host:1:dead",
                started_at=crashed_at,
                heartbeat_at=crashed_at,
            )
        )
    assert await JobRunner(jobs, worker_id="rescuer").run_due(db) == 1
    assert calls == {"report": 1}
    abandoned, rescued = await runs_of(db, "report")
    assert (abandoned.worker_id, abandoned.outcome, abandoned.error) == (
        "dead-host:1:dead",
        "error",
        ABANDONED,
    )
    assert abandoned.finished_at is not None
    assert (rescued.worker_id, rescued.outcome) == ("rescuer", "ok")
    row = await schedule_row(db, "report")
    assert row.lease_owner is None
    assert row.next_run_at > utcnow()


async def test_heartbeats_extend_the_lease_of_a_long_job(db: Database) -> None:
    started = asyncio.Event()

    async def long_report(_db: Database) -> int:
        started.set()
        await asyncio.sleep(2.0)
        return 1

    jobs = registry(Job("long", HOURLY, long_report))
    await due(db, jobs, "long")
    holder = JobRunner(jobs, lease_seconds=1.0, heartbeat_seconds=0.1, worker_id="holder")
    running = asyncio.create_task(holder.run_due(db))
    await started.wait()
    first_lease = (await schedule_row(db, "long")).lease_until
    assert first_lease is not None
    await asyncio.sleep(1.4)  # well past the first lease
    row = await schedule_row(db, "long")
    assert row.lease_owner == "holder"
    assert row.lease_until is not None
    assert row.lease_until > first_lease + timedelta(seconds=0.8)
    assert row.lease_until > utcnow()
    assert await JobRunner(jobs, worker_id="rival").run_due(db) == 0
    assert await running == 1
    [run] = await runs_of(db, "long")
    assert (run.worker_id, run.outcome) == ("holder", "ok")


async def test_a_runner_that_lost_its_lease_cancels_its_run(db: Database) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(_db: Database) -> int:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    jobs = registry(Job("stuck", HOURLY, stuck))
    await due(db, jobs, "stuck")
    runner = JobRunner(jobs, lease_seconds=0.5, heartbeat_seconds=0.1, worker_id="slow")
    running = asyncio.create_task(runner.run_due(db))
    await started.wait()
    await set_row(db, "stuck", lease_owner="usurper")  # another worker took the job over
    assert await asyncio.wait_for(running, 20) == 1
    assert cancelled.is_set()
    [run] = await runs_of(db, "stuck")
    assert (run.outcome, run.error) == ("error", LEASE_LOST)
    assert (await schedule_row(db, "stuck")).lease_owner == "usurper"
