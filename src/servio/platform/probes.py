"""Readiness: each dependency checked with a timeout; the report names what failed.

The database and the migrations are required: without them readiness fails (503). The
worker check only degrades readiness, unless the deployment requires a worker
(``require_worker``): an API without a live worker still answers requests, but side
effects wait, and operators should know. Redis is optional (rate limits fail open), so
an unreachable Redis degrades readiness and never fails it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from alembic.runtime.migration import MigrationContext
from redis.asyncio import Redis

from servio.platform.db import Database
from servio.platform.db.migrations import head_revision
from servio.platform.outbox.circuits import open_circuits
from servio.platform.worker import fresh_heartbeats

CheckState = Literal["ok", "failed", "degraded", "skipped"]


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [name for name, c in self.checks.items() if c["status"] == "failed"]

    @property
    def status(self) -> str:
        if self.failed:
            return "unavailable"
        degraded = any(c["status"] == "degraded" for c in self.checks.values())
        return "degraded" if degraded else "ready"


async def _bounded(coro: Any, limit: float) -> Any:
    return await asyncio.wait_for(coro, limit)


async def _current_revision(db: Database) -> str | None:
    async with db.read_engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def check_readiness(
    db: Database,
    *,
    redis: Redis | None,
    limit_seconds: float,
    heartbeat_within: float,
    expected_head: str | None = None,
    require_worker: bool = False,
) -> Readiness:
    report = Readiness()
    try:
        await _bounded(db.ping(), limit_seconds)
        report.checks["database"] = {"status": "ok"}
    except Exception as exc:
        report.checks["database"] = {"status": "failed", "error": type(exc).__name__}
    if report.checks["database"]["status"] == "ok":
        head = expected_head if expected_head is not None else head_revision()
        try:
            current = await _bounded(_current_revision(db), limit_seconds)
            state: CheckState = "ok" if current == head else "failed"
            report.checks["migrations"] = {"status": state, "current": current, "head": head}
        except Exception as exc:
            report.checks["migrations"] = {"status": "failed", "error": type(exc).__name__}
        try:
            workers = await _bounded(fresh_heartbeats(db, heartbeat_within), limit_seconds)
            missing: CheckState = "failed" if require_worker else "degraded"
            report.checks["workers"] = {
                "status": "ok" if workers else missing,
                "fresh": len(workers),
            }
        except Exception as exc:
            state = "failed" if require_worker else "degraded"
            report.checks["workers"] = {"status": state, "error": type(exc).__name__}
        try:
            circuits = await _bounded(open_circuits(db), limit_seconds)
            report.checks["providers"] = {
                "status": "degraded" if circuits else "ok",
                "open": {c.provider: c.state for c in circuits},
            }
        except Exception as exc:
            report.checks["providers"] = {"status": "degraded", "error": type(exc).__name__}
    else:
        report.checks["migrations"] = {"status": "skipped", "reason": "database unreachable"}
    if redis is not None:
        try:
            await _bounded(redis.ping(), limit_seconds)
            report.checks["redis"] = {"status": "ok"}
        except Exception as exc:
            report.checks["redis"] = {"status": "degraded", "error": type(exc).__name__}
    return report
