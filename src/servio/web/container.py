"""The services one process needs, built once from settings and closed at shutdown."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from servio.domains.actions import tasks as action_tasks
from servio.domains.bookings import emails as booking_emails
from servio.domains.conversations import panic as conversations_panic
from servio.domains.identity import links as identity_links
from servio.domains.identity import service as identity_service
from servio.domains.intake import service as intake_service
from servio.domains.portal import signin as portal_signin
from servio.platform.clock import Clock, current_clock, pin_clock
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.email import (
    EmailDelivery,
    EmailTemplates,
    UnsubscribeLinks,
    mailer_from_settings,
    register_email,
)
from servio.platform.email.composing import sender_domain
from servio.platform.jobs import JobRegistry, JobRunner
from servio.platform.metrics import Metrics
from servio.platform.outbox import Dispatcher, OutboxRegistry
from servio.platform.outbox.breaker import Breakers
from servio.platform.ratelimit import RateLimiter
from servio.platform.worker import Worker, WorkRegistry
from servio.web.jobs import register_domain_jobs, register_platform_jobs
from servio.web.outbox_handlers import register_outbox_handlers


@dataclass
class Container:
    settings: Settings
    db: Database
    metrics: Metrics
    limiter: RateLimiter
    work: WorkRegistry = field(default_factory=WorkRegistry)
    outbox: OutboxRegistry = field(default_factory=OutboxRegistry)
    jobs: JobRegistry = field(default_factory=JobRegistry)
    redis: Redis | None = None
    clock: Clock = field(default_factory=current_clock)
    email: EmailDelivery | None = None
    on_close: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    """What plugins opened (an HTTP client, say), closed with the container."""
    _plugins_loaded: bool = field(default=False, init=False, repr=False)

    @property
    def unsubscribe_links(self) -> UnsubscribeLinks:
        s = self.settings
        return UnsubscribeLinks(
            s.secret_key.get_secret_value(),
            s.public_url,
            mailto=f"unsubscribe@{sender_domain(s.mail_from)}",
        )

    def dispatcher(self, worker_id: str) -> Dispatcher:
        """The outbox dispatcher a worker process runs, configured from settings."""
        s = self.settings
        return Dispatcher(
            self.db,
            self.outbox,
            worker_id=worker_id,
            batch_size=s.outbox_batch_size,
            concurrency=s.outbox_concurrency,
            claim_seconds=s.outbox_claim_seconds,
            backoff_base_seconds=s.outbox_backoff_base_seconds,
            backoff_cap_seconds=s.outbox_backoff_cap_seconds,
            max_attempts=s.outbox_max_attempts,
            breakers=Breakers(s.circuit_failure_threshold, s.circuit_cooldown_seconds),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Container:
        if settings.clock_start is not None:
            pin_clock(settings.clock_start)
        db = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout=settings.database_timeout_seconds,
            statement_timeout_ms=settings.database_statement_timeout_ms,
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
        container.wire_email()
        register_platform_jobs(container.jobs, settings)
        register_domain_jobs(container.jobs)
        # One work item runs every due job of the registry, domains' jobs included.
        container.work.register("jobs", JobRunner(container.jobs))
        register_outbox_handlers(container)
        return container

    def wire_email(self) -> None:
        """Deliver ``email.send`` outbox messages: SMTP when configured, else files."""
        s = self.settings
        self.email = EmailDelivery(
            db=self.db,
            mailer=mailer_from_settings(s.smtp_url, s.var_dir, s.smtp_timeout_seconds),
            templates=EmailTemplates(
                [
                    identity_links.EMAIL_TEMPLATES,
                    booking_emails.EMAIL_TEMPLATES,
                    intake_service.EMAIL_TEMPLATES,
                    conversations_panic.EMAIL_TEMPLATES,
                    action_tasks.EMAIL_TEMPLATES,
                    portal_signin.EMAIL_TEMPLATES,
                ],
                globals_={"public_url": s.public_url.rstrip("/")},
            ),
            sender=s.mail_from,
            links=self.unsubscribe_links,
            look_of=identity_service.email_look,
        )
        # A send is several SMTP round trips, each bounded by the SMTP timeout.
        register_email(self.outbox, self.email, timeout_seconds=4 * s.smtp_timeout_seconds)

    def worker(self, db: Database | None = None) -> Worker:
        """A worker process's loop: heartbeats, the outbox drain, every registered item
        (including those of ``SERVIO_WORKER_PLUGINS``)."""
        self.load_worker_plugins()
        runner = Worker(
            db or self.db,
            self.work,
            self.settings.worker_heartbeat_seconds,
            error_backoff_cap_seconds=self.settings.worker_error_backoff_cap_seconds,
        )
        dispatcher = self.dispatcher(runner.worker_id)
        if db is not None:
            dispatcher.db = db
        registry = WorkRegistry({"outbox": dispatcher.drain, **self.work.items})
        runner.registry = registry
        return runner

    def load_worker_plugins(self) -> None:
        """Call ``register(container)`` of each module named in ``SERVIO_WORKER_PLUGINS``
        (once), so it can add outbox kinds and work items to this process."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for name in self.settings.worker_plugins:
            register = getattr(importlib.import_module(name), "register", None)
            if not callable(register):
                raise TypeError(f"SERVIO_WORKER_PLUGINS: {name} has no register(container)")
            register(self)

    async def close(self) -> None:
        for close in reversed(self.on_close):
            await close()
        await self.limiter.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()
