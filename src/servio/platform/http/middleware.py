"""Pure-ASGI middleware: request ids, access log, security headers, body size guard,
and the last-resort error boundary. Each wraps ``send``; none buffers a body."""

from __future__ import annotations

import json
import re
import secrets
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.errors import PROBLEM_CONTENT_TYPE, problem_body
from servio.platform.logging import ACCESS_LOG, REQUEST_ID, get_logger
from servio.platform.metrics import Metrics, route_template

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

log = get_logger("servio.http")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_id_of(scope: Scope) -> str | None:
    rid = scope.get("state", {}).get("request_id")
    return str(rid) if rid else None


async def send_problem(
    scope: Scope,
    send: Send,
    *,
    name: str,
    title: str,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
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
                *(
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in (headers or {}).items()
                ),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ObservabilityMiddleware:
    """Per request, in one layer: accept a well-formed ``X-Request-ID`` or make one and
    echo it; make it the request id of every log line; count and time the request by
    route template in the metrics; write one redacted JSON access-log line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = header(scope, REQUEST_ID_HEADER)
        rid = given if given and _VALID_REQUEST_ID.match(given) else secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = rid
        id_header = (REQUEST_ID_HEADER, rid.encode())
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *(h for h in message.get("headers", ()) if h[0].lower() != REQUEST_ID_HEADER),
                    id_header,
                ]
            await send(message)

        token = REQUEST_ID.set(rid)
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_observed)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            if ACCESS_LOG.enabled:
                self._log(scope, rid, route, status, elapsed)
            REQUEST_ID.reset(token)

    @staticmethod
    def _log(scope: Scope, rid: str, route: str, status: int, elapsed: float) -> None:
        client = scope.get("client")
        query = scope.get("query_string", b"")
        ACCESS_LOG.write(
            request_id=rid,
            method=scope["method"],
            route=route,
            path=scope["path"] + (f"?{query.decode('latin-1')}" if query else ""),
            status=status,
            duration_ms=round(elapsed * 1000, 2),
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


class PayloadTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body may be at most {max_bytes} bytes.")


class ResponseGuardMiddleware:
    """Around the request gates, idempotency and the routes, in one pass: hardening headers on every
    response (HSTS in production); a body over the limit refused before routing when
    declared, or stopped as soon as a streamed body passes it; any exception that escaped
    the handlers or the gates turned into a 500 Problem+JSON, its trace logged
    server-side and never shown."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts: bool = False) -> None:
        self.app = app
        self.max_bytes = max_body_bytes
        self.headers = [*SECURITY_HEADERS, HSTS] if hsts else list(SECURITY_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_guarded(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                existing = message.get("headers", [])
                present = {k.lower() for k, _ in existing}
                message["headers"] = [
                    *existing,
                    *(h for h in self.headers if h[0] not in present),
                ]
            await send(message)

        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._problem(scope, send_guarded, 413)
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

        try:
            await self.app(scope, receive_counted, send_guarded)
        except Exception:
            log.exception("unhandled_error", path=scope.get("path"), method=scope.get("method"))
            if started:
                raise
            await self._problem(scope, send_guarded, 500)

    async def _problem(self, scope: Scope, send: Send, status: int) -> None:
        if status == 413:
            await send_problem(
                scope,
                send,
                name="payload-too-large",
                title="Payload too large",
                status=413,
                detail=f"The request body may be at most {self.max_bytes} bytes.",
            )
        else:
            await send_problem(
                scope,
                send,
                name="internal-error",
                title="Internal error",
                status=500,
                detail="Something failed on our side; quote the request_id when reporting it.",
            )
