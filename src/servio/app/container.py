"""The services one process needs, built once from settings and closed at shutdown: the
typed container every domain's manifest and every route dependency reads from."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from servio.app.domains import manifests
from servio.app.stripe import payment_gateway
from servio.app.whatsapp import whatsapp_config
from servio.domains.bookings.flows import BookingDeposits, Deposits
from servio.domains.catalog.service import Catalog
from servio.domains.conversations.deposits import Checkout
from servio.domains.identity import service as identity_service
from servio.domains.identity.authn import IdentityAuthenticator
from servio.domains.identity.config import AuthConfig
from servio.domains.messaging.handlers import WhatsAppConfig
from servio.domains.payments.gateway import PaymentGateway
from servio.domains.payments.holder import DepositHolder
from servio.domains.portal.config import PortalConfig
from servio.domains.webhooks.config import WebhooksConfig
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
from servio.platform.jobs.retention import platform_jobs
from servio.platform.manifest import Manifest
from servio.platform.metrics import Metrics
from servio.platform.outbox import Dispatcher, OutboxRegistry
from servio.platform.outbox.breaker import Breakers
from servio.platform.ratelimit import RateLimiter
from servio.platform.worker import Worker, WorkRegistry


@dataclass
class Container:
    settings: Settings
    db: Database
    metrics: Metrics
    limiter: RateLimiter
    catalog: Catalog
    gateway: PaymentGateway | None
    whatsapp: WhatsAppConfig
    auth_config: AuthConfig
    portal_config: PortalConfig
    webhooks_config: WebhooksConfig
    authenticator: IdentityAuthenticator
    manifests: tuple[Manifest[Any], ...]
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
    def deposits(self) -> Deposits:
        """How a booking's deposit checkout is opened on this deployment."""
        return Deposits(self.gateway, self.settings.public_url)

    @property
    def deposit_holder(self) -> DepositHolder:
        """The bookings side of a deposit, for the payments webhook and pages."""
        return BookingDeposits(self.deposits)

    @property
    def checkout(self) -> Checkout:
        """How a conversation opens its deposit checkout."""
        return Checkout(
            prices=self.catalog, gateway=self.gateway, public_url=self.settings.public_url
        )

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
    def from_settings(
        cls, settings: Settings, *, domains: tuple[Manifest[Any], ...] | None = None
    ) -> Container:
        """Everything one process needs, with every domain's handlers and jobs (those
        of ``domains``, by default the product's) registered."""
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
        on_close: list[Callable[[], Awaitable[object]]] = []
        auth_config = AuthConfig.from_settings(settings)
        container = cls(
            settings=settings,
            db=db,
            metrics=metrics,
            limiter=limiter,
            catalog=Catalog(settings.verticals_dir),
            gateway=payment_gateway(settings),
            whatsapp=whatsapp_config(settings, on_close),
            auth_config=auth_config,
            portal_config=PortalConfig.from_settings(settings),
            webhooks_config=WebhooksConfig.from_settings(settings),
            authenticator=IdentityAuthenticator(db, auth_config, settings),
            manifests=manifests() if domains is None else domains,
            redis=redis,
            on_close=on_close,
        )
        container.metrics.watch_pool(db.engine.sync_engine.pool)
        container.wire_email()
        container.wire_domains()
        return container

    def wire_domains(self) -> None:
        """The platform's jobs, then each domain's outbox handlers and jobs; one work
        item runs every due job of the registry."""
        for job in platform_jobs(self.settings):
            self.jobs.register(job)
        for manifest in self.manifests:
            if manifest.handlers is not None:
                manifest.handlers(self, self.outbox)
            for job in manifest.jobs(self):
                self.jobs.register(job)
        self.work.register("jobs", JobRunner(self.jobs))

    def wire_email(self) -> None:
        """Deliver ``email.send`` outbox messages: SMTP when configured, else files."""
        s = self.settings
        self.email = EmailDelivery(
            db=self.db,
            mailer=mailer_from_settings(s.smtp_url, s.var_dir, s.smtp_timeout_seconds),
            templates=EmailTemplates(
                [m.email_templates for m in self.manifests if m.email_templates is not None],
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
