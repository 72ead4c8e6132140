"""Pure-ASGI middleware: trusted proxy headers, request ids, metrics, the access log,
security headers, the body size guard and the last-resort error boundary.

``EdgeMiddleware`` does all of it in one layer: one pass over the request headers, one
``send`` wrapper. When CORS is configured its middleware must sit between the request
id and the guard (so that 413s and 500s made by the guard also carry CORS headers);
then the edge leaves the guard to ``ResponseGuardMiddleware`` inside CORS. No layer
buffers a body."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.db.outage import OUTAGE_RETRY_AFTER_SECONDS, is_database_outage
from servio.platform.errors import PROBLEM_CONTENT_TYPE, problem_body
from servio.platform.http.pages import send_crash_page
from servio.platform.http.proxies import TrustedProxies
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


class _RequestIds:
    """Random 128-bit request ids as 32 hex digits, cut from one ``os.urandom`` read per
    256 ids instead of one system call each; a forked child starts a fresh pool."""

    _BATCH = 256

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._pool, self._at = "", 0

    def next(self) -> str:
        at = self._at
        if at >= len(self._pool):
            self._pool, at = os.urandom(16 * self._BATCH).hex(), 0
        self._at = at + 32
        return self._pool[at : at + 32]


new_request_id = _RequestIds().next


async def send_problem(
    scope: Scope,
    send: Send,
    *,
    name: str,
    title: str,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
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
            extra=extra,
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


async def send_payload_too_large(scope: Scope, send: Send, detail: str) -> None:
    await send_problem(
        scope, send, name="payload-too-large", title="Payload too large", status=413, detail=detail
    )


class PayloadTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body may be at most {max_bytes} bytes.")


def _declared_too_large(declared: bytes | str, max_bytes: int) -> bool:
    return not declared.isdigit() or int(declared) > max_bytes


def _harden(
    headers: list[tuple[bytes, bytes]], hardening: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """The response's headers plus each hardening header it does not set itself."""
    present = {k.lower() for k, _ in headers}
    return [*headers, *(h for h in hardening if h[0] not in present)]


class _ResponseHeaders:
    """What the edge does to a response's headers: any ``X-Request-ID`` of its own is
    dropped, each hardening header it does not set itself is added, then the request id.
    The common case (the response sets none of them) is one set and one list."""

    def __init__(self, hardening: list[tuple[bytes, bytes]]) -> None:
        self.hardening = hardening
        self.taken = frozenset({REQUEST_ID_HEADER, *(name for name, _ in hardening)})

    def __call__(
        self, headers: Iterable[tuple[bytes, bytes]], request_id: tuple[bytes, bytes]
    ) -> list[tuple[bytes, bytes]]:
        own = headers if isinstance(headers, list | tuple) else list(headers)
        names = {h[0].lower() for h in own}
        if names.isdisjoint(self.taken):
            return [*own, *self.hardening, request_id]
        kept = [h for h in own if h[0].lower() != REQUEST_ID_HEADER]
        return [*kept, *(h for h in self.hardening if h[0] not in names), request_id]


def _log_escaped(scope: Scope, exc: Exception) -> None:
    """A crash with its trace; a database outage (answered 503) as one warning line."""
    path, method = scope.get("path"), scope.get("method")
    if is_database_outage(exc):
        log.warning("database_unavailable", path=path, method=method, error=type(exc).__name__)
    else:
        log.exception("unhandled_error", path=path, method=method)


async def _guard_problem(
    scope: Scope, send: Send, status: int, max_bytes: int, error: BaseException | None = None
) -> None:
    if error is not None and is_database_outage(error):
        # Raised outside the routes (idempotency, a gate): still a 503, never a 500.
        await send_problem(
            scope,
            send,
            name="service-unavailable",
            title="Service unavailable",
            status=503,
            detail="The database is not answering right now; retry after Retry-After.",
            headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
        )
        return
    if status == 500 and await send_crash_page(scope, send):
        return
    if status == 413:
        await send_payload_too_large(
            scope, send, f"The request body may be at most {max_bytes} bytes."
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


def _counting_receive(receive: Receive, max_bytes: int) -> Receive:
    """``receive`` that stops a streamed body as soon as it passes the limit."""
    received = 0

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise PayloadTooLarge(max_bytes)
        return message

    return receive_counted


class EdgeMiddleware:
    """The outermost layer, once per request:

    - behind a trusted proxy, the client address and scheme from ``X-Forwarded-For`` and
      ``X-Forwarded-Proto`` (see ``TrustedProxies``);
    - a well-formed ``X-Request-ID`` accepted, else one made, echoed on the response and
      made the request id of every log line;
    - the request counted and timed by route template, and counted while in flight;
    - one redacted JSON access-log line;
    - unless ``guard`` is off (CORS configured, see the module): hardening headers on
      every response (HSTS in production), a body over the limit refused before routing
      when declared or stopped as soon as a streamed body passes it, and any exception
      that escaped the handlers turned into a 500 Problem+JSON, its trace logged
      server-side and never shown.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        trusted_proxies: list[str] | str,
        max_body_bytes: int,
        hsts: bool = False,
        guard: bool = True,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.proxies = TrustedProxies(trusted_proxies)
        self.max_bytes = max_body_bytes
        self.guard = guard
        hardening = [*SECURITY_HEADERS, HSTS] if hsts else list(SECURITY_HEADERS)
        self.response_headers = _ResponseHeaders(hardening if guard else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                self._forwarded(scope, scope["headers"])
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        given = user_agent = declared = proto = None
        forwarded_for: list[bytes] = []
        for name, value in scope["headers"]:  # the first of each, as header() reads them
            if name == b"x-request-id":
                if given is None:
                    given = value
            elif name == b"user-agent":
                if user_agent is None:
                    user_agent = value
            elif name == b"content-length":
                if declared is None:
                    declared = value
            elif name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        if (forwarded_for or proto) and self.proxies.trusts(_host(scope)):
            self._apply_forwarded(scope, forwarded_for, proto)
        if given is None:
            rid = new_request_id()
        else:
            rid = given.decode("latin-1")
            if not _VALID_REQUEST_ID.match(rid):
                rid = new_request_id()
        state = scope.get("state")
        if state is None:
            scope["state"] = {"request_id": rid}
        else:
            state["request_id"] = rid
        id_header = (REQUEST_ID_HEADER, rid.encode())
        response_headers = self.response_headers
        status = 500
        started = False

        async def send_edge(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = response_headers(message.get("headers", ()), id_header)
            await send(message)

        token = REQUEST_ID.set(rid)
        metrics = self.metrics.http
        metrics.in_flight += 1
        try:
            if not self.guard:
                await self.app(scope, receive, send_edge)
            elif declared is not None and _declared_too_large(declared, self.max_bytes):
                await _guard_problem(scope, send_edge, 413, self.max_bytes)
            else:
                try:
                    await self.app(scope, _counting_receive(receive, self.max_bytes), send_edge)
                except Exception as exc:
                    _log_escaped(scope, exc)
                    if started:
                        raise
                    await _guard_problem(scope, send_edge, 500, self.max_bytes, exc)
        finally:
            metrics.in_flight -= 1
            elapsed = time.perf_counter() - started_at
            route = route_template(scope)
            metrics.observe(scope["method"], route, status, elapsed)
            if ACCESS_LOG.enabled:
                client = scope.get("client")
                ACCESS_LOG.write(
                    rid,
                    scope["method"],
                    route,
                    scope["path"],
                    scope.get("query_string", b""),
                    status,
                    elapsed,
                    client[0] if client else None,
                    user_agent,
                )
            REQUEST_ID.reset(token)

    def _forwarded(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
        proto = None
        forwarded_for: list[bytes] = []
        for name, value in headers:
            if name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        if (forwarded_for or proto) and self.proxies.trusts(_host(scope)):
            self._apply_forwarded(scope, forwarded_for, proto)

    def _apply_forwarded(
        self, scope: Scope, forwarded_for: list[bytes], proto: bytes | None
    ) -> None:
        if proto is not None:
            scheme = self.proxies.scheme(proto)
            if scheme is not None:
                websocket = scope["type"] == "websocket"
                scope["scheme"] = scheme.replace("http", "ws") if websocket else scheme
        if forwarded_for:
            host, port = self.proxies.client(b", ".join(forwarded_for).decode("latin-1"))
            if host:  # an empty X-Forwarded-For leaves the peer as the client
                scope["client"] = (host, port)


def _host(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


class ResponseGuardMiddleware:
    """The guard of ``EdgeMiddleware`` as its own layer, for when CORS sits in between:
    hardening headers, the body limit and the 500 boundary, around the request gates,
    idempotency and the routes."""

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
                message["headers"] = _harden(list(message.get("headers", ())), self.headers)
            await send(message)

        declared = header(scope, b"content-length")
        if declared is not None and _declared_too_large(declared, self.max_bytes):
            await _guard_problem(scope, send_guarded, 413, self.max_bytes)
            return
        try:
            await self.app(scope, _counting_receive(receive, self.max_bytes), send_guarded)
        except Exception as exc:
            _log_escaped(scope, exc)
            if started:
                raise
            await _guard_problem(scope, send_guarded, 500, self.max_bytes, exc)
