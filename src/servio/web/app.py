"""The one place that wires the app: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

import servio
from servio.platform.config import Settings
from servio.platform.http.middleware import EdgeMiddleware, ResponseGuardMiddleware
from servio.platform.http.problems import install_problem_handlers
from servio.platform.logging import configure_logging
from servio.web import probes, problem_docs
from servio.web.container import Container
from servio.web.openapi import build_openapi

VERSION = "0.1.0"


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """Build the ASGI app. The container is made here and closed at shutdown."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    container = container or Container.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
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
    install_problem_handlers(app)
    probes.install(app)
    app.include_router(problem_docs.router)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    _install_middleware(app, settings, container)
    return app


def _install_middleware(app: FastAPI, settings: Settings, container: Container) -> None:
    # Added innermost first: the last one added wraps all the others. Without CORS the
    # edge is the one layer; with CORS, the guard (hardening headers, body limit, 500
    # boundary) sits inside it so that its answers carry CORS headers too.
    hsts = settings.env == "prod"
    cors = bool(settings.cors_origins)
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
            expose_headers=["X-Request-ID", "ETag", "Retry-After", "Location"],
            max_age=600,
        )
    app.add_middleware(
        EdgeMiddleware,
        metrics=container.metrics,
        trusted_proxies=settings.trusted_proxies,
        max_body_bytes=settings.max_body_bytes,
        hsts=hsts,
        guard=not cors,
    )
