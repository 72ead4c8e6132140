"""The services one process needs, built once from settings and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.jobs import JobRegistry, JobRunner
from servio.platform.metrics import Metrics
from servio.platform.ratelimit import RateLimiter
from servio.platform.worker import WorkRegistry
from servio.web.jobs import register_platform_jobs


@dataclass
class Container:
    settings: Settings
    db: Database
    metrics: Metrics
    limiter: RateLimiter
    work: WorkRegistry = field(default_factory=WorkRegistry)
    jobs: JobRegistry = field(default_factory=JobRegistry)
    redis: Redis | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Container:
        db = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout=settings.database_timeout_seconds,
        )
        redis = (
            Redis.from_url(
                settings.redis_url,
                socket_timeout=settings.readiness_timeout_seconds,
                socket_connect_timeout=settings.readiness_timeout_seconds,
            )
            if settings.redis_url
            else None
        )
        metrics = Metrics()
        limiter = RateLimiter.from_settings(settings, on_store_error=metrics.ratelimit_errors.inc)
        container = cls(settings=settings, db=db, metrics=metrics, limiter=limiter, redis=redis)
        container.metrics.watch_pool(db.engine.sync_engine.pool)
        register_platform_jobs(container.jobs, settings)
        # One work item runs every due job of the registry, domains' jobs included.
        container.work.register("jobs", JobRunner(container.jobs))
        return container

    async def close(self) -> None:
        await self.limiter.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()
