"""The worker process: a loop that heartbeats and runs the work domains register.

Domains register ``WorkItem`` callables (drain the outbox, run due jobs, ...). Each pass
runs every item once; ``--once`` makes a single pass and exits. Heartbeats are rows in
``worker_heartbeats`` so probes and the admin API can see which workers are alive.
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
from servio.platform.logging import get_logger

log = get_logger("servio.worker")

WorkItem = Callable[[Database], Awaitable[int]]
"""One unit of work; returns how many things it did (0 = idle)."""

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
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
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
        token = current_worker_id.set(self.worker_id)
        try:
            for name, item in self.registry.items.items():
                try:
                    done += await item(self.db)
                except Exception:
                    log.exception("work_item_failed", item=name, worker_id=self.worker_id)
        finally:
            current_worker_id.reset(token)
        return done

    async def run(self, *, once: bool = False) -> None:
        await self.heartbeat()
        log.info("worker_started", worker_id=self.worker_id, items=sorted(self.registry.items))
        if once:
            done = await self.run_pass()
            log.info("worker_pass_done", worker_id=self.worker_id, done=done)
            return
        loop = asyncio.get_running_loop()
        last_beat = loop.time()
        while not self._stopping.is_set():
            done = await self.run_pass()
            if loop.time() - last_beat >= self.heartbeat_seconds:
                await self.heartbeat()
                last_beat = loop.time()
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.idle_sleep_seconds)
        log.info("worker_stopped", worker_id=self.worker_id)

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
