"""The worker process: a loop that heartbeats and runs the work domains register.

Domains register ``WorkItem`` callables (drain the outbox, run due jobs, ...). Each pass
runs every item once; ``--once`` runs passes until one finds nothing to do (what a
handler queues during a pass is done by the next) and exits. Heartbeats are rows in
``worker_heartbeats`` so probes and the admin API can see which workers are alive.

The loop outlives any error: a failing item, pass or heartbeat (the database gone, a
SQLite lock held too long) is logged and retried after a backoff that doubles up to a
cap, so the worker drains what waited as soon as the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import Base, Database, UTCDateTime, utcnow
from servio.platform.db.outage import is_database_outage, outage_reason
from servio.platform.logging import get_logger

log = get_logger("servio.worker")

WorkItem = Callable[[Database], Awaitable[int]]
"""One unit of work; returns how many things it did (0 = idle)."""

MAX_PASSES_PER_RUN = 25
"""``run(once=True)`` stops after this many passes even if work keeps appearing."""

current_worker_id: ContextVar[str | None] = ContextVar("servio_worker_id", default=None)
"""The id of the worker whose pass is running, for items that record who did the work
(the job runner names it as lease holder)."""


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass
class WorkRegistry:
    items: dict[str, WorkItem] = field(default_factory=dict)

    def register(self, name: str, item: WorkItem) -> None:
        if name in self.items:
            raise ValueError(f"work item {name!r} is registered twice")
        self.items[name] = item


@dataclass
class Worker:
    db: Database
    registry: WorkRegistry
    heartbeat_seconds: float = 10.0
    idle_sleep_seconds: float = 1.0
    error_backoff_cap_seconds: float = 30.0
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    failed_items: int = 0
    """How many items failed in the last pass."""
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def heartbeat(self) -> None:
        async with self.db.unit_of_work(system=True) as session:
            row = await session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                session.add(
                    WorkerHeartbeat(
                        worker_id=self.worker_id, hostname=socket.gethostname(), pid=os.getpid()
                    )
                )
            else:
                row.last_seen_at = utcnow()

    async def run_pass(self) -> int:
        """Run every registered item once; an item's failure is logged, not fatal."""
        done = 0
        self.failed_items = 0
        token = current_worker_id.set(self.worker_id)
        try:
            for name, item in self.registry.items.items():
                try:
                    done += await item(self.db)
                except Exception as exc:
                    self.failed_items += 1
                    self._log_failure("work_item_failed", exc, item=name)
        finally:
            current_worker_id.reset(token)
        return done

    async def run_until_idle(self, max_passes: int = MAX_PASSES_PER_RUN) -> int:
        """Run passes until one does nothing (or ``max_passes`` ran), so that what an item
        queues for another (a reply an inbound message produced) is done too; returns how
        many things were done."""
        total = 0
        for _ in range(max_passes):
            done = await self.run_pass()
            total += done
            if done == 0:
                return total
        log.warning("worker_passes_exhausted", worker_id=self.worker_id, passes=max_passes)
        return total

    async def run(self, *, once: bool = False) -> None:
        """``once``: heartbeat, run until idle, return (an unreachable database raises).
        Otherwise loop until ``stop``, surviving every error."""
        if once:
            await self.heartbeat()
            log.info("worker_started", worker_id=self.worker_id, items=sorted(self.registry.items))
            done = await self.run_until_idle()
            log.info("worker_pass_done", worker_id=self.worker_id, done=done)
            return
        log.info("worker_started", worker_id=self.worker_id, items=sorted(self.registry.items))
        loop = asyncio.get_running_loop()
        last_beat: float | None = None
        failures = 0
        while not self._stopping.is_set():
            failed = False
            if last_beat is None or loop.time() - last_beat >= self.heartbeat_seconds:
                try:
                    await self.heartbeat()
                    last_beat = loop.time()
                except Exception as exc:
                    failed = True
                    self._log_failure("worker_heartbeat_failed", exc)
            done = await self._guarded_pass()
            failed = failed or self.failed_items > 0
            failures = failures + 1 if failed else 0
            if failed:
                await self._pause(self.backoff(failures), failures=failures)
            elif done == 0:
                await self._pause(self.idle_sleep_seconds)
        log.info("worker_stopped", worker_id=self.worker_id)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed passes in a row: doubling, capped."""
        base = max(self.idle_sleep_seconds, 0.05)
        return float(min(self.error_backoff_cap_seconds, base * 2 ** min(failures - 1, 30)))

    async def _guarded_pass(self) -> int:
        try:
            return await self.run_pass()
        except Exception as exc:  # a pass's own bookkeeping failed; never the end
            self.failed_items += 1
            self._log_failure("worker_pass_failed", exc)
            return 0

    async def _pause(self, seconds: float, *, failures: int = 0) -> None:
        if failures:
            log.warning(
                "worker_backing_off",
                worker_id=self.worker_id,
                failures=failures,
                retry_in_seconds=round(seconds, 2),
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _log_failure(self, event: str, exc: Exception, **fields: object) -> None:
        if is_database_outage(exc):  # expected while the database is away: no trace
            log.warning(
                event,
                worker_id=self.worker_id,
                error=type(exc).__name__,
                reason=outage_reason(exc),
                **fields,
            )
        else:
            log.exception(event, worker_id=self.worker_id, **fields)

    def stop(self) -> None:
        self._stopping.set()


async def recent_heartbeats(db: Database, limit: int = 100) -> list[WorkerHeartbeat]:
    """The ``limit`` workers seen most recently, newest first, fresh or not."""
    async with db.reader(system=True) as session:
        rows = await session.scalars(
            select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen_at.desc()).limit(limit)
        )
        return list(rows)


async def fresh_heartbeats(db: Database, within_seconds: float) -> list[WorkerHeartbeat]:
    """Workers seen within the last ``within_seconds``."""
    cutoff = utcnow() - timedelta(seconds=within_seconds)
    async with db.reader(system=True) as session:
        rows = await session.scalars(
            select(WorkerHeartbeat).where(WorkerHeartbeat.last_seen_at >= cutoff)
        )
        return list(rows)
