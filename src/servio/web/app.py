"""The one place that wires the app: ``create_app(settings)``."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

import servio
from servio.app.container import Container
from servio.domains.identity.authn import ACCESS_COOKIE
from servio.domains.identity.authn import idempotency_scope as identity_idempotency_scope
from servio.domains.identity.deps import REFRESH_COOKIE
from servio.domains.portal.deps import SESSION_COOKIE as CLIENT_SESSION_COOKIE
from servio.platform.config import Settings
from servio.platform.db.rls import warn_if_bypassed
from servio.platform.http.admin_guard import AdminIpAllowlistMiddleware
from servio.platform.http.idempotency import IdempotencyMiddleware, IdempotencyScope
from servio.platform.http.maintenance import (
    MaintenanceMiddleware,
    OperatorCheck,
    operator_token_check,
)
from servio.platform.http.middleware import EdgeMiddleware, ResponseGuardMiddleware
from servio.platform.http.no_store import NoStoreMiddleware
from servio.platform.http.nul import NulGuardMiddleware
from servio.platform.http.problems import install_problem_handlers
from servio.platform.http.ratelimit import IpRateLimitMiddleware, path_groups
from servio.platform.http.services import ServicesState
from servio.platform.logging import configure_logging
from servio.platform.security.passwords import configure_hasher
from servio.web import admin_jobs, admin_outbox, probes, problem_docs, unsubscribe
from servio.web.openapi import build_openapi
from servio.web.pages import (
    chat_page,
    client_portal,
    console_auth,
    console_board,
    console_bookings,
    console_home,
    console_leads,
    console_ops,
    console_settings,
    console_team,
)
from servio.web.pages.booking import book as booking_book
from servio.web.pages.booking import confirmation as booking_confirmation
from servio.web.pages.booking import page as booking_page
from servio.web.pages.errors import install_error_pages
from servio.web.pages.static import static_mount
from servio.web.stripe import mount_dev_checkout

VERSION = "0.1.0"


def create_app(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    is_operator: OperatorCheck | None = None,
    idempotency_scope: IdempotencyScope | None = None,
) -> FastAPI:
    """Build the ASGI app. The container is made here and closed at shutdown.

    ``is_operator`` says whether a request carries a platform-operator credential
    (operators pass maintenance mode); ``idempotency_scope`` names the verified org and
    principal of a request for ``Idempotency-Key`` (default: identity's)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    container = container or Container.from_settings(settings)
    configure_hasher(
        time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What is built by now (modules, models, schemas, routes: some 200,000 objects)
        # lives as long as the server; frozen, the collector's full passes skip it
        # instead of spending ~0.1 s on it each time requests promote enough garbage.
        _app.state.rls_bypass = await warn_if_bypassed(container.db.engine)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await container.close()

    app = FastAPI(
        title="Servio",
        version=VERSION,
        description=servio.__doc__ or "",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    app.state.rls_bypass = None  # checked at start-up (lifespan)
    if is_operator is None:
        token = settings.operator_token
        is_operator = operator_token_check(token.get_secret_value() if token else None)
    install_problem_handlers(app)
    install_error_pages(app)
    console_auth.install_console_auth(app)
    client_portal.install_client_portal(app)
    probes.install(app)
    for router in (*WEB_ROUTERS, *_domain_routers(container), *_page_routers()):
        # Straight onto the app: an included router is a branch every request walks
        # again, a measurable share of a small request. Routers here carry no
        # router-level dependencies or prefixes beyond those baked into their paths.
        app.router.routes.extend(router.routes)
    app.router.routes.append(static_mount)
    app.state.dev_stripe = mount_dev_checkout(app, settings)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    scope_of = idempotency_scope or identity_idempotency_scope(container.auth_config)
    _install_middleware(app, settings, container, is_operator, scope_of)
    return app


WEB_ROUTERS = (
    problem_docs.router,
    unsubscribe.router,
    admin_outbox.router,
    admin_jobs.router,
)


def _domain_routers(container: Container) -> list[APIRouter]:
    return [router for m in container.manifests for router in m.routers()]


def _page_routers() -> tuple[APIRouter, ...]:
    return (
        console_auth.router,
        console_home.router,
        chat_page.router,
        booking_page.router,
        booking_book.router,
        booking_confirmation.router,
        console_settings.router,
        console_leads.router,
        console_team.router,
        console_ops.router,
        console_board.router,
        console_bookings.router,
        client_portal.router,
    )


def _install_middleware(
    app: FastAPI,
    settings: Settings,
    container: Container,
    is_operator: OperatorCheck,
    idempotency_scope: IdempotencyScope,
) -> None:
    # Added innermost first: the last one added wraps all the others. Idempotency sits
    # inside the guard, so the guard limits the body it buffers, turns a crash into a 500
    # after the claim is released, and hardens replays like any response; the request
    # gates refuse before any key is claimed. Without CORS the edge is the outer layer
    # and carries the guard itself; with CORS, the guard sits inside CORS so that its
    # answers carry CORS headers too.
    hsts = settings.env == "prod"
    cors = bool(settings.cors_origins)
    app.add_middleware(IdempotencyMiddleware, db=container.db, scope_of=idempotency_scope)
    app.add_middleware(NulGuardMiddleware)  # before any key is claimed or a query runs
    _install_request_gates(app, settings, container, is_operator)
    if cors:
        app.add_middleware(
            ResponseGuardMiddleware, max_body_bytes=settings.max_body_bytes, hsts=hsts
        )
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials and "*" not in settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "X-Request-ID",
                "X-CSRF-Token",
            ],
            expose_headers=[
                "X-Request-ID",
                "ETag",
                "Retry-After",
                "Location",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "RateLimit-Policy",
                "Idempotent-Replayed",
            ],
            max_age=600,
        )
    app.add_middleware(
        NoStoreMiddleware,
        session_cookies=(
            ACCESS_COOKIE,
            REFRESH_COOKIE,
            CLIENT_SESSION_COOKIE,
            chat_page.SESSION_COOKIE,
        ),
        private_prefixes=(console_auth.CONSOLE,),
    )
    app.add_middleware(
        EdgeMiddleware,
        metrics=container.metrics,
        trusted_proxies=settings.trusted_proxies,
        max_body_bytes=settings.max_body_bytes,
        hsts=hsts,
        guard=not cors,
    )
    app.add_middleware(ServicesState, services=container)  # outermost: every request sees it


def _install_request_gates(
    app: FastAPI, settings: Settings, container: Container, is_operator: OperatorCheck
) -> None:
    # The request gates (admin allowlist, maintenance, rate limits) sit inside the
    # response guard, CORS and observability, so their refusals still get hardening and
    # CORS headers, a request id, metrics and an access-log line, and browsers can read
    # Retry-After and the RateLimit-* headers. Added innermost first, as above.
    if settings.rate_limit_enabled:
        app.add_middleware(
            IpRateLimitMiddleware,
            limiter=container.limiter,
            groups=path_groups(settings),
            default_rate=settings.rate_limit_default,
        )
    if settings.maintenance_mode:  # outside the rate limits: refusals use no budget
        app.add_middleware(
            MaintenanceMiddleware,
            retry_after=settings.maintenance_retry_after,
            is_operator=is_operator,
        )
    if settings.admin_ip_allowlist:  # outermost gate: outsiders are refused first
        app.add_middleware(AdminIpAllowlistMiddleware, allowed=settings.admin_ip_allowlist)
