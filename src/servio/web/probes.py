"""Liveness, readiness and metrics, and the short ``/health`` (configured features) and
``/ready`` (database reachable) probes."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from pydantic import BaseModel

from servio.domains.identity import service as identity
from servio.domains.messaging import service as messaging
from servio.platform.db.rls import RlsBypass
from servio.platform.errors import DomainError
from servio.platform.http.problems import problem_response, problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.probes import check_readiness
from servio.web.deps import AppContainer


class Liveness(BaseModel):
    status: str


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, dict[str, Any]]


class HealthOut(BaseModel):
    ok: bool
    templates_configured: list[str]
    features: dict[str, bool]


class ReadyOut(BaseModel):
    ok: bool
    database: str


class MetricsUnauthorized(DomainError):
    status = 401
    type = "metrics-token-required"
    title = "Metrics need the metrics token"


_LIVE = Liveness(status="ok").model_dump_json().encode()


async def healthz() -> Response:
    # Probed every few seconds by orchestrators: the constant body is rendered once,
    # so no model is validated or serialized per call.
    return Response(_LIVE, media_type="application/json")


async def _readiness(container: AppContainer) -> Any:
    settings = container.settings
    return await check_readiness(
        container.db,
        redis=container.redis,
        limit_seconds=settings.readiness_timeout_seconds,
        heartbeat_within=settings.worker_heartbeat_seconds * 3,
        require_worker=settings.readiness_require_worker,
    )


async def readyz(request: Request, container: AppContainer) -> Any:
    report = await _readiness(container)
    bypass: RlsBypass | None = getattr(request.app.state, "rls_bypass", None)
    if bypass is not None:  # found at start-up: tenants rest on the app's filters alone
        report.checks["row_level_security"] = bypass.check()
    if report.failed:
        return problem_response(
            request,
            status=503,
            name="service-unavailable",
            detail="Not ready: " + ", ".join(report.failed) + " failed.",
            extra={"status": report.status, "checks": report.checks},
        )
    return ReadinessOut(status=report.status, checks=report.checks)


async def _templates(container: AppContainer, slug: str | None) -> list[str]:
    """The WhatsApp template purposes the named business (or the deployment's single
    business) has configured; none without one. An unknown business is 404."""
    slug = slug or container.settings.default_org
    if not slug:
        return []
    org = await identity.resolve_public_org(container.db, slug, None)
    async with container.db.reader(org.id) as s:
        return sorted(await messaging.templates_of(s, org.id))


async def health(
    container: AppContainer,
    org: Annotated[str | None, Query(max_length=63, description="business slug")] = None,
) -> HealthOut:
    settings = container.settings
    return HealthOut(
        ok=True,
        templates_configured=await _templates(container, org),
        features={
            "stripe": settings.stripe_api_key is not None or settings.stripe_dev_checkout,
            "whatsapp": settings.whatsapp_access_token is not None,
            "whatsapp_dry_run": settings.whatsapp_dry_run,
            "turnstile": settings.turnstile_secret is not None,
            "smtp": bool(settings.smtp_url),
            "redis": settings.redis_url is not None,
        },
    )


async def ready(request: Request, container: AppContainer) -> Any:
    try:
        await container.db.ping()
    except Exception:
        return problem_response(
            request,
            status=503,
            name="service-unavailable",
            detail="The database is not reachable.",
            extra={"ok": False, "database": "disconnected"},
        )
    return ReadyOut(ok=True, database="connected")


async def metrics(request: Request, container: AppContainer) -> Response:
    token = container.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise MetricsUnauthorized("Send Authorization: Bearer <SERVIO_METRICS_TOKEN>.")
    return Response(container.metrics.render(), media_type=container.metrics.content_type)


def install(app: FastAPI) -> None:
    """The probes are routes of the app itself, matched first, not an included router:
    orchestrators call them every few seconds, and an included router costs a second
    matching pass on every request it serves."""

    def probe(path: str, endpoint: Any, summary: str, **options: Any) -> None:
        app.router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            summary=summary,
            tags=["probes"],
            route_class_override=JsonRoute,
            **options,
        )

    probe("/healthz", healthz, "Liveness: the process answers (no I/O)", response_model=Liveness)
    probe(
        "/readyz",
        readyz,
        "Readiness: database and migrations at head (and a fresh worker when "
        "SERVIO_READINESS_REQUIRE_WORKER); Redis and workers otherwise degrade only",
        responses=problem_responses(503),
    )
    probe(
        "/health",
        health,
        "Health summary with configured features and, with ?org=, that business's WhatsApp "
        "templates",
        responses=problem_responses(404),
    )
    probe(
        "/ready",
        ready,
        "Database readiness: reachable or not",
        responses=problem_responses(503),
    )
    probe(
        "/metrics",
        metrics,
        "Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, **problem_responses(401)},
    )
