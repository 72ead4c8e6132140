"""The OpenAPI document: the Problem+JSON schema, every status each route can answer
(each error pointing at that schema) and the security schemes routes accept.

What a route can answer is read from how it is built: every route may be rate limited
(429), find its database down or the service in maintenance (503), and refuses a NUL
character anywhere (422); a route with a body may find it unparsable (400), too large
(413) or not JSON (415); a route with a path parameter may name nothing (404); a staff
route needs credentials (401, 403) and a staff write is refused while the business is
read-only (409); a client portal route takes only a client session (401, 403)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from servio.domains.portal.deps import current_client
from servio.platform.errors import PROBLEM_CONTENT_TYPE
from servio.platform.http.auth import current_principal, optional_principal

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": ["string", "null"]},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}}


SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A staff access token from /v1/auth/login, or an API key (svk_…); "
        "on client portal routes, a client session token",
    },
    "adminApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Admin-API-Key",
        "description": "An API key of the business (/v1/api-keys)",
    },
    "clientSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "client_session",
        "description": "The client portal session set by /v1/client/portal/session",
    },
}
_STAFF_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"adminApiKey": []}]
_CLIENT_SECURITY: list[dict[str, list[str]]] = [{"clientSession": []}, {"bearerAuth": []}]

_EVERY_ROUTE = {
    422: "A NUL character (U+0000) in the path, the query or the body, or a field failed "
    "validation (`validation-error`)",
    429: "Too many requests (`too-many-requests`); retry after Retry-After",
    500: "Internal error",
    503: "Service unavailable (`service-unavailable`): the database cannot be reached or "
    "the service is in maintenance; retry after Retry-After",
}
_WITH_BODY = {
    400: "The body could not be read",
    413: "The body is larger than the limit (`payload-too-large`)",
}
_STAFF = {
    401: "No credentials, or credentials that are not valid (`not-authenticated`)",
    403: "The credentials lack a permission, two-factor set-up is pending, or a cookie "
    "write lacks its CSRF echo",
}
_STAFF_WRITE = {409: "The business is read-only (`read-only`); start a break-glass session"}
_CLIENT = {
    401: "No client portal session (`client-not-signed-in`)",
    403: "Staff credentials or API keys do not open the client portal "
    "(`client-session-required`), or a cookie write lacks its CSRF echo",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _read_only_refused(call: Callable[..., Any]) -> bool:
    """Whether ``call`` is a ``require(...)`` check that refuses writes when read-only."""
    if call.__qualname__ != "require.<locals>.check":
        return False
    return not inspect.getclosurevars(call).nonlocals.get("allow_read_only", False)


def _guards(route: APIRoute) -> tuple[str | None, bool]:
    """Who the route lets in (``staff``, ``client`` or None) and whether a read-only
    business is refused."""
    calls = list(_calls(route.dependant))
    if current_client in calls:
        return "client", False
    staff = any(
        c in (current_principal, optional_principal) or c.__qualname__.startswith("require.")
        for c in calls
    )
    writes = bool((route.methods or set()) - {"GET", "HEAD", "OPTIONS"})
    return ("staff" if staff else None), writes and any(_read_only_refused(c) for c in calls)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": _PROBLEM_CONTENT}


def _document(operation: dict[str, Any], route: APIRoute | None) -> None:
    """Add each status the route can answer that it does not declare itself."""
    statuses: dict[int, str] = dict(_EVERY_ROUTE)
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        statuses |= _WITH_BODY
        if "application/json" in body:
            statuses[415] = "The body is not JSON (`unsupported-media-type`)"
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses[404] = "Nothing of that id, or it is not yours (`not-found`)"
    who, refuses_read_only = _guards(route) if route else (None, False)
    if who == "staff":
        statuses |= _STAFF
        operation.setdefault("security", _STAFF_SECURITY)
    elif who == "client":
        statuses |= _CLIENT
        operation.setdefault("security", _CLIENT_SECURITY)
    if refuses_read_only:
        statuses |= _STAFF_WRITE
    responses = operation.setdefault("responses", {})
    responses["422"] = _problem(_EVERY_ROUTE[422])
    for status, description in sorted(statuses.items()):
        responses.setdefault(str(status), _problem(description))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = SECURITY_SCHEMES
    routes = {
        (route.path_format, method.lower()): route
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            _document(operation, routes.get((path, method)))
    app.openapi_schema = schema
    return schema
