"""Job definitions: a name, a cron schedule evaluated in UTC, the work, and a timeout.

Domains register their jobs on the one ``JobRegistry`` the container holds; the worker
runs each when it falls due (see ``servio.platform.jobs.runner``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from croniter import croniter  # type: ignore[import-untyped]

from servio.platform.db import Database
from servio.platform.jobs.models import NAME_MAX_LENGTH

JobFunction = Callable[[Database], Awaitable[int]]
"""The work of a job; returns how many things it did (rows pruned, reminders sent)."""

DEFAULT_TIMEOUT_SECONDS = 600.0


def next_fire_time(schedule: str, after: datetime) -> datetime:
    """The first time ``schedule`` fires strictly after ``after``, in UTC."""
    fire: datetime = croniter(schedule, after.astimezone(UTC)).get_next(datetime)
    return fire.astimezone(UTC)


@dataclass(frozen=True)
class Job:
    """A scheduled job. ``schedule`` is a cron expression (five fields, or ``@daily``,
    ``@hourly``, ...) read in UTC; a run longer than ``timeout_seconds`` is cancelled."""

    name: str
    schedule: str
    run: JobFunction
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > NAME_MAX_LENGTH:
            raise ValueError(f"job name must be 1 to {NAME_MAX_LENGTH} characters")
        if not croniter.is_valid(self.schedule):
            raise ValueError(f"job {self.name!r}: {self.schedule!r} is not a cron expression")
        if self.timeout_seconds <= 0:
            raise ValueError(f"job {self.name!r}: timeout_seconds must be positive")

    def next_run_after(self, moment: datetime) -> datetime:
        return next_fire_time(self.schedule, moment)


@dataclass
class JobRegistry:
    """The jobs of this deployment, in registration order."""

    jobs: dict[str, Job] = field(default_factory=dict)

    def register(self, job: Job) -> Job:
        if job.name in self.jobs:
            raise ValueError(f"job {job.name!r} is registered twice")
        self.jobs[job.name] = job
        return job

    def get(self, name: str) -> Job | None:
        return self.jobs.get(name)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs.values())

    def __len__(self) -> int:
        return len(self.jobs)
