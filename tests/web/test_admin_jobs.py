"""``GET /v1/admin/jobs/status``: each job's schedule, runs, errors and lag, the workers'
heartbeats; only for principals who may operate the deployment."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx

from servio.app.container import Container
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.jobs import Job
from servio.platform.worker import Worker, WorkerHeartbeat
from tests.support.app import app_of
from tests.support.identity import invite, register
from tests.support.jobs import set_row
from tests.support.problems import assert_problem

STATUS = "/v1/admin/jobs/status"


def container_of(api: httpx.AsyncClient) -> Container:
    container: Container = app_of(api).state.container
    return container


async def add_stale_worker(db: Database, seen_ago: timedelta) -> None:
    seen = utcnow() - seen_ago
    async with db.unit_of_work(system=True) as session:
        session.add(
            WorkerHeartbeat(
                worker_id="old-host:99:cafe",
                hostname="old-host",
                pid=99,
                started_at=seen,
                last_seen_at=seen,
            )
        )


BOOKING_JOBS = [
    "bookings.expire_holds",
    "bookings.send_reminders",
    "conversations.mark_stale",
    "conversations.whatsapp_reminders",
]


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["name"]: job for job in body["jobs"]}


async def test_status_needs_credentials_and_the_operate_permission(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    assert_problem(await api.get(STATUS), 401, "not-authenticated")
    owner = await register(api, "ops@example.com", "Ops Co")
    viewer = (await invite(api, owner, settings.var_dir, "viewer@example.com", "VIEWER")).auth
    body = assert_problem(await api.get(STATUS, headers=viewer), 403, "forbidden")
    assert body["permission"] == "admin:operate"
    assert (await api.get(STATUS, headers=owner.auth)).status_code == 200


async def test_before_any_worker_started_jobs_show_without_a_next_run(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "ops@example.com", "Ops Co")
    r = await api.get(STATUS, headers=owner.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [job["name"] for job in body["jobs"]] == [
        *BOOKING_JOBS,
        "idempotency.prune",
        "inbox.prune",
        "jobs.prune_runs",
    ]
    inbox = by_name(body)["inbox.prune"]
    assert inbox["schedule"] == "0 3 * * *"
    assert inbox["next_run_at"] is None
    assert (inbox["runs"], inbox["lag_seconds"], inbox["running"]) == (0, 0, False)
    assert body["workers"] == []
    assert body["fresh_workers"] == 0


async def test_status_shows_runs_errors_lag_leases_and_worker_heartbeats(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "ops@example.com", "Ops Co")
    container = container_of(api)

    async def export_reports(_db: Database) -> int:
        raise RuntimeError("report store unreachable")

    container.jobs.register(Job("reports.export", "*/15 * * * *", export_reports))
    worker = Worker(db, container.work)
    await worker.run(once=True)  # heartbeats and syncs the schedules; nothing is due yet
    await set_row(db, "reports.export", next_run_at=utcnow() - timedelta(minutes=1))
    await worker.run_pass()
    overdue_since = utcnow() - timedelta(hours=2)
    await set_row(db, "inbox.prune", next_run_at=overdue_since)
    lease_until = utcnow() + timedelta(seconds=45)
    await set_row(db, "idempotency.prune", lease_owner="busy:1:beef", lease_until=lease_until)
    await add_stale_worker(db, timedelta(hours=1))

    r = await api.get(STATUS, headers=owner.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    now = datetime.fromisoformat(body["now"])
    jobs = by_name(body)
    assert list(jobs) == [
        *BOOKING_JOBS,
        "idempotency.prune",
        "inbox.prune",
        "jobs.prune_runs",
        "reports.export",
    ]

    failed = jobs["reports.export"]
    assert failed["last_error"] == "RuntimeError: report store unreachable"
    assert (failed["runs"], failed["failures"], failed["last_success_at"]) == (1, 1, None)
    assert failed["last_started_at"] is not None
    assert failed["last_finished_at"] is not None
    assert failed["last_duration_ms"] >= 0
    assert datetime.fromisoformat(failed["next_run_at"]) > now
    assert failed["lag_seconds"] == 0
    assert failed["timeout_seconds"] == 600

    overdue = jobs["inbox.prune"]
    assert abs(overdue["lag_seconds"] - (now - overdue_since).total_seconds()) < 1
    assert overdue["running"] is False
    assert overdue["lease_owner"] is None

    running = jobs["idempotency.prune"]
    assert (running["running"], running["lease_owner"]) == (True, "busy:1:beef")
    assert datetime.fromisoformat(running["lease_until"]) == lease_until

    assert [(w["worker_id"], w["fresh"]) for w in body["workers"]] == [
        (worker.worker_id, True),
        ("old-host:99:cafe", False),
    ]
    assert body["workers"][1]["last_seen_at"] < body["workers"][0]["last_seen_at"]
    assert body["fresh_workers"] == 1


async def test_an_expired_lease_is_not_shown_as_running(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "ops@example.com", "Ops Co")
    await Worker(db, container_of(api).work).run(once=True)
    await set_row(
        db, "inbox.prune", lease_owner="dead:1:0", lease_until=utcnow() - timedelta(seconds=1)
    )
    job = by_name((await api.get(STATUS, headers=owner.auth)).json())["inbox.prune"]
    assert (job["running"], job["lease_owner"], job["lease_until"]) == (False, None, None)


async def test_readiness_is_degraded_while_only_stale_workers_heartbeat(
    api: httpx.AsyncClient, db: Database
) -> None:
    await add_stale_worker(db, timedelta(minutes=5))
    body = (await api.get("/readyz")).json()
    assert body["status"] == "degraded"
    assert body["checks"]["workers"] == {"status": "degraded", "fresh": 0}

    # A worker pass that also runs the jobs makes it ready again.
    await asyncio.wait_for(Worker(db, container_of(api).work).run(once=True), 30)
    body = (await api.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["checks"]["workers"] == {"status": "ok", "fresh": 1}
