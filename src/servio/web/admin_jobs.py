"""``GET /v1/admin/jobs/status``: how the scheduled jobs and the workers are doing."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from servio.platform.db import utcnow
from servio.platform.http.auth import require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.jobs import job_statuses
from servio.platform.security.principal import Principal
from servio.platform.worker import recent_heartbeats
from servio.web.deps import AppContainer

router = APIRouter(prefix="/v1/admin/jobs", tags=["admin"], route_class=JsonRoute)
Operator = Annotated[Principal, Depends(require("admin:operate"))]


class JobStatusOut(BaseModel):
    name: str
    schedule: str = Field(description="cron expression, evaluated in UTC")
    registered: bool = Field(description="false for a job this version no longer defines")
    timeout_seconds: float | None
    next_run_at: datetime | None = Field(description="null until a worker has started")
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None = Field(description="the latest run's error; a success clears it")
    last_duration_ms: int | None
    runs: int
    failures: int
    lag_seconds: float = Field(description="now minus next_run_at when overdue, else 0")
    running: bool = Field(description="a worker holds an unexpired lease on the job")
    lease_owner: str | None = Field(description="the worker running it now")
    lease_until: datetime | None


class WorkerOut(BaseModel):
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    fresh: bool = Field(description="heartbeat seen within three heartbeat intervals")


class JobsStatusOut(BaseModel):
    now: datetime
    jobs: list[JobStatusOut]
    workers: list[WorkerOut] = Field(description="the most recently seen workers, newest first")
    fresh_workers: int


@router.get(
    "/status",
    summary="Scheduled jobs (next and last run, last success and error, lag) and workers",
    responses=problem_responses(401, 403),
)
async def jobs_status(_operator: Operator, container: AppContainer) -> JobsStatusOut:
    now = utcnow()
    cutoff = now - timedelta(seconds=container.settings.worker_heartbeat_seconds * 3)
    jobs = await job_statuses(container.db, container.jobs, now=now)
    workers = [
        WorkerOut(
            worker_id=beat.worker_id,
            hostname=beat.hostname,
            pid=beat.pid,
            started_at=beat.started_at,
            last_seen_at=beat.last_seen_at,
            fresh=beat.last_seen_at >= cutoff,
        )
        for beat in await recent_heartbeats(container.db)
    ]
    return JobsStatusOut(
        now=now,
        jobs=[JobStatusOut(**asdict(job)) for job in jobs],
        workers=workers,
        fresh_workers=sum(worker.fresh for worker in workers),
    )
