"""Exception handlers: every error leaves as Problem+JSON, rendered in one place."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import asyncpg.exceptions as pg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from servio.platform.db.outage import (
    OUTAGE_RETRY_AFTER_SECONDS,
    is_database_outage,
    outage_reason,
)
from servio.platform.errors import (
    GENERIC_NAME_BY_STATUS,
    PROBLEM_CATALOG,
    PROBLEM_CONTENT_TYPE,
    DomainError,
    problem_body,
)
from servio.platform.logging import get_logger


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_CONTENT_TYPE


def problem_response(
    request: Request,
    *,
    status: int,
    name: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    name = name or GENERIC_NAME_BY_STATUS.get(status) or phrase.lower().replace(" ", "-")
    body = problem_body(
        name=name,
        title=title or PROBLEM_CATALOG.get(name, (status, phrase, ""))[1],
        status=status,
        detail=detail or phrase,
        instance=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        extra=extra,
    )
    return ProblemResponse(body, status_code=status, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


log = get_logger("servio.http")


async def on_domain_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, DomainError)
    headers = dict(exc.headers)
    if exc.retry_after is not None and not any(k.lower() == "retry-after" for k in headers):
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(
        request,
        status=exc.status,
        name=exc.type,
        title=exc.title,
        detail=exc.detail,
        extra=exc.extra,
        headers=headers,
    )


async def on_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field_path(err.get("loc", ())),
            "message": err.get("msg", "invalid"),
            "type": err.get("type", "value_error"),
        }
        for err in exc.errors()
    ]
    malformed = any(e["type"] == "json_invalid" for e in errors)
    detail = (
        "The body is not valid JSON."
        if malformed
        else f"{len(errors)} field(s) failed validation: "
        + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    )
    return problem_response(
        request, status=422, name="validation-error", detail=detail, extra={"errors": errors}
    )


async def on_http_exception(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"Nothing at {request.url.path}."
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(
        request, status=exc.status_code, detail=detail, headers=dict(exc.headers or {})
    )


class ServiceBusy(DomainError):
    status = 503
    type = "service-busy"
    title = "Too busy right now"
    description = "Every database connection was in use for too long; retry after Retry-After."


async def on_pool_timeout(request: Request, exc: Exception) -> ProblemResponse:
    """A full connection pool is load, not a bug: 503 with Retry-After, never a 500."""
    log.warning("database_pool_exhausted", path=request.url.path)
    busy = ServiceBusy("The service is at capacity; retry in a moment.", retry_after=1)
    return await on_domain_error(request, busy)


class ConcurrentChange(DomainError):
    status = 409
    type = "concurrent-change"
    title = "The record changed while this request changed it"
    description = "Another request changed it first (its version moved); read it again and retry."


async def on_stale_data(request: Request, exc: Exception) -> ProblemResponse:
    """An UPDATE guarded by the row's version found another version: 409, never a 500
    and never a lost update."""
    log.warning("concurrent_change", path=request.url.path, error=str(exc)[:200])
    conflict = ConcurrentChange("Someone else changed this at the same moment; reload it.")
    return await on_domain_error(request, conflict)


UNAVAILABLE_DETAIL = "The database is not answering right now; retry after Retry-After."
UNAVAILABLE_HEADERS = {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)}
# The errors a database outage surfaces as; ``on_database_outage`` sorts them.
OUTAGE_CANDIDATES: tuple[type[Exception], ...] = (
    DBAPIError,
    pg.PostgresError,
    pg.InterfaceError,
    OSError,
    TimeoutError,
)


async def on_database_outage(request: Request, exc: Exception) -> ProblemResponse:
    """A lost, silent or locked database is 503 ``service-unavailable`` with Retry-After,
    never a 500; any other error of these classes is a bug and stays one."""
    if not is_database_outage(exc):
        raise exc
    log.warning(
        "database_unavailable",
        path=request.url.path,
        error=type(exc).__name__,
        reason=outage_reason(exc),
    )
    return problem_response(
        request,
        status=503,
        name="service-unavailable",
        detail=UNAVAILABLE_DETAIL,
        headers=dict(UNAVAILABLE_HEADERS),
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(PoolTimeout, on_pool_timeout)
    app.add_exception_handler(StaleDataError, on_stale_data)
    for outage in OUTAGE_CANDIDATES:
        app.add_exception_handler(outage, on_database_outage)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the Problem+JSON errors a route can give."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
