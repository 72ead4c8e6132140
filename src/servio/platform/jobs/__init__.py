"""Scheduled jobs: cron schedules in UTC, one runner per job across every worker (a lease
taken by a conditional UPDATE and kept by heartbeats), history and status.

Domains register ``Job``s on the container's ``JobRegistry``; the worker's ``jobs`` item
(a ``JobRunner``) runs whatever is due in each pass.
"""

from servio.platform.jobs.models import ERROR, OK, TIMEOUT, JobRun, JobSchedule
from servio.platform.jobs.registry import Job, JobFunction, JobRegistry, next_fire_time
from servio.platform.jobs.runner import JobRunner
from servio.platform.jobs.schedules import sync_schedules
from servio.platform.jobs.status import JobStatus, job_statuses

__all__ = [
    "ERROR",
    "OK",
    "TIMEOUT",
    "Job",
    "JobFunction",
    "JobRegistry",
    "JobRun",
    "JobRunner",
    "JobSchedule",
    "JobStatus",
    "job_statuses",
    "next_fire_time",
    "sync_schedules",
]
