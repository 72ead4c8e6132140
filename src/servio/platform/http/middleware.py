"""Pure-ASGI middleware: request ids, access log, security headers, body size guard,
and the last-resort error boundary. Each wraps ``send``; none buffers a body."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.errors import PROBLEM_CONTENT_TYPE, problem_body
from servio.platform.logging import get_logger

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

log = get_logger("servio.http")
access = get_logger("servio.access")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_id_of(scope: Scope) -> str | None:
    rid = scope.get("state", {}).get("request_id")
    return str(rid) if rid else None


async def send_problem(
    scope: Scope, send: Send, *, name: str, title: str, status: int, detail: str
) -> None:
    """Answer with Problem+JSON straight from middleware, before any route runs."""
    body = json.dumps(
        problem_body(
            name=name,
            title=title,
            status=status,
            detail=detail,
            instance=scope.get("path"),
            request_id=request_id_of(scope),
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Accept a well-formed ``X-Request-ID`` or make one; echo it; bind it to logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, REQUEST_ID_HEADER)
        rid = given if given and _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        encoded = rid.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *(h for h in message["headers"] if h[0].lower() != REQUEST_ID_HEADER),
                    (REQUEST_ID_HEADER, encoded),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            await self.app(scope, receive, send_with_id)


def route_template(scope: Scope) -> str:
    """The matched route's path template, never the raw path (ids would explode labels)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(scope.get("root_path", "")) + str(path)
    return "<unmatched>"


class AccessLogMiddleware:
    """One structured line per request: method, route, path, status, duration, client."""

    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_capturing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_capturing)
        finally:
            client = scope.get("client")
            query = scope.get("query_string", b"").decode("latin-1")
            access.info(
                "request",
                method=scope["method"],
                route=route_template(scope),
                path=scope["path"] + (f"?{query}" if query else ""),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                client_ip=client[0] if client else None,
                user_agent=header(scope, b"user-agent"),
            )


SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Add the browser hardening headers to every response (HSTS in production)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, HSTS] if hsts else list(SECURITY_HEADERS)
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = message.get("headers", [])
                present = {k.lower() for k, _ in existing}
                message["headers"] = [
                    *existing,
                    *(h for h in self.headers if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_secured)


class PayloadTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body may be at most {max_bytes} bytes.")


class BodySizeLimitMiddleware:
    """Refuse a declared body over the limit before routing, and stop a streamed
    (chunked) body as soon as it passes the limit while the app reads it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_problem(
                scope,
                send,
                name="payload-too-large",
                title="Payload too large",
                status=413,
                detail=f"The request body may be at most {self.max_bytes} bytes.",
            )
            return
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        await self.app(scope, receive_counted, send)


class ErrorBoundaryMiddleware:
    """Turn any exception that escaped the handlers into a 500 Problem+JSON, logged with
    its trace server-side; the client sees neither the trace nor any SQL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            log.exception("unhandled_error", path=scope.get("path"), method=scope.get("method"))
            if started:
                raise
            await send_problem(
                scope,
                send,
                name="internal-error",
                title="Internal error",
                status=500,
                detail="Something failed on our side; quote the request_id when reporting it.",
            )


def client_ip(scope: Scope) -> str | None:
    client: Any = scope.get("client")
    return str(client[0]) if client else None
