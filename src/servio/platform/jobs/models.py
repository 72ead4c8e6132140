"""The tables behind scheduled jobs: one schedule row per job, one history row per run.

Both are platform tables: a job works across orgs (or on platform tables), so neither
carries an ``org_id`` nor row-level security.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import Base, UTCDateTime

NAME_MAX_LENGTH = 120
OWNER_MAX_LENGTH = 80
OK = "ok"
ERROR = "error"
TIMEOUT = "timeout"


class JobSchedule(Base):
    """When a job runs next, who holds its lease, and how its runs have gone."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(120))
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(OWNER_MAX_LENGTH))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class JobRun(Base):
    """One run of one job: who ran it, its heartbeats, and how it ended (NULL outcome
    while it runs)."""

    __tablename__ = "job_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    worker_id: Mapped[str] = mapped_column(String(OWNER_MAX_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    count: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(f"outcome IN ('{OK}', '{ERROR}', '{TIMEOUT}')", name="outcome"),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
    )
