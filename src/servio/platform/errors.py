"""Domain errors and their Problem+JSON (RFC 9457) rendering.

A domain raises a ``DomainError`` subclass carrying a status and a machine name; the
one handler installed by the web layer renders it. Nothing else builds error bodies.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

# Every problem type the platform itself can produce, with what it means; domains add
# theirs through ``DomainError`` subclasses, which register here on definition.
PROBLEM_CATALOG: dict[str, tuple[int, str, str]] = {}


def register_problem(name: str, status: int, title: str, description: str) -> None:
    PROBLEM_CATALOG[name] = (status, title, description)


class DomainError(Exception):
    """An error a user can cause; rendered as Problem+JSON with ``status`` and ``type``."""

    status: ClassVar[int] = 400
    type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    description: ClassVar[str] = ""

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.headers = headers or {}
        # Seconds a client should wait; the problem handler sends it as Retry-After.
        self.retry_after = retry_after

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            register_problem(cls.type, cls.status, cls.title, cls.description or cls.title)


def problem_type_uri(name: str) -> str:
    return f"{PROBLEM_BASE}{name}"


def problem_body(
    *,
    name: str,
    title: str,
    status: int,
    detail: str,
    instance: str | None,
    request_id: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type_uri(name),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


_GENERIC = [
    ("not-found", 404, "Not found", "No resource exists at this path, or it is not yours."),
    ("method-not-allowed", 405, "Method not allowed", "The path exists but not this method."),
    ("payload-too-large", 413, "Payload too large", "The request body exceeds the limit."),
    (
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "This endpoint takes application/json; send that Content-Type.",
    ),
    (
        "validation-error",
        422,
        "Validation failed",
        "The request does not match the schema; `errors` lists each field path and message.",
    ),
    ("too-many-requests", 429, "Too many requests", "Slow down; Retry-After says when."),
    (
        "internal-error",
        500,
        "Internal error",
        "Something failed on our side; quote the request_id when reporting it.",
    ),
    ("service-unavailable", 503, "Service unavailable", "A dependency is not ready."),
    ("bad-request", 400, "Bad request", "The request could not be understood."),
    ("unauthorized", 401, "Unauthorized", "Credentials are missing or invalid."),
    ("forbidden", 403, "Forbidden", "The credentials do not allow this."),
    ("conflict", 409, "Conflict", "The request conflicts with the current state."),
    ("precondition-failed", 412, "Precondition failed", "The resource changed; reload it."),
]
for _name, _status, _title, _desc in _GENERIC:
    register_problem(_name, _status, _title, _desc)

# The generic name for a bare HTTP status; fixed here so a domain error that shares a
# status (an unknown org is also a 404) never changes what a plain 404 is called.
GENERIC_NAME_BY_STATUS: dict[int, str] = {status: name for name, status, _t, _d in _GENERIC}


class NotFound(DomainError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    type = "conflict"
    title = "Conflict"


class TooManyRequests(DomainError):
    status = 429
    type = "too-many-requests"
    title = "Too many requests"


class UnsupportedMediaType(DomainError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"
