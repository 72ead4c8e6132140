"""Pure-ASGI ``Idempotency-Key`` handling for POST requests.

A POST with an ``Idempotency-Key`` whose caller the wiring can name (``scope_of``
returns the verified org and principal) runs at most once per key: the first request
claims the key, runs, and its response (unless a server error, 408 or 429) is kept; a
retry with the same request gets that response again with ``Idempotent-Replayed: true``,
the same key on a different request is a 409, and a duplicate that arrives while the
first still runs is a 409 with ``Retry-After``. Sits inside the response guard, which
limits the body this layer buffers and hardens every replayed response like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.db import Database
from servio.platform.errors import DomainError
from servio.platform.http.middleware import PayloadTooLarge, send_problem
from servio.platform.idempotency import (
    IN_FLIGHT_TIMEOUT,
    KEY_TTL,
    ExistingKey,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    StoredResponse,
    claim,
    complete,
    release,
    request_fingerprint,
    validate_key,
)
from servio.platform.logging import get_logger

IdempotencyScope = Callable[[Scope], Awaitable[str | None]]
"""The verified org + principal a request acts for, as one string; None = no idempotency."""

KEY_HEADER = b"idempotency-key"
REPLAYED_HEADER = (b"idempotent-replayed", b"true")
# Only headers that describe the response itself are kept; never cookies, never ids of
# the first request, never the hardening headers that every response gets afresh.
REPLAYED_HEADERS = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-language",
        "content-location",
        "content-type",
        "etag",
        "hx-redirect",  # where an htmx page goes next (a form's replayed success)
        "last-modified",
        "link",
        "location",
    }
)
# Answers that invite the client to retry are not kept, or the retry could never succeed.
_NOT_KEPT = frozenset({408, 429})

log = get_logger("servio.idempotency")


async def no_idempotency_scope(_scope: Scope) -> str | None:
    """The scope of no request: idempotency stays off until identity supplies one."""
    return None


def keeps_response(status: int) -> bool:
    return status < 500 and status not in _NOT_KEPT


def _key_values(scope: Scope) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == KEY_HEADER]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _receive_again(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body to the app once, then pass through (disconnects)."""
    delivered = False

    async def receive_buffered() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_buffered


class _ResponseRecorder:
    """Passes the response through to the client and keeps a copy of it, whole."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in message.get("headers", ())
                if name.decode("latin-1").lower() in REPLAYED_HEADERS
            ]
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self.send(message)

    def response(self) -> StoredResponse | None:
        if self.status is None or not keeps_response(self.status):
            return None
        return StoredResponse(status=self.status, headers=self.headers, body=b"".join(self.chunks))


async def _send_error(scope: Scope, send: Send, error: DomainError) -> None:
    await send_problem(
        scope,
        send,
        name=error.type,
        title=error.title,
        status=error.status,
        detail=error.detail,
        headers=error.headers,
    )


async def _replay(send: Send, response: StoredResponse) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
    ]
    headers += [(b"content-length", str(len(response.body)).encode()), REPLAYED_HEADER]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class IdempotencyMiddleware:
    """Runs a keyed POST at most once per (scope, key) and replays its answer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        db: Database,
        scope_of: IdempotencyScope,
        ttl: timedelta = KEY_TTL,
        in_flight_timeout: timedelta = IN_FLIGHT_TIMEOUT,
    ) -> None:
        self.app = app
        self.db = db
        self.scope_of = scope_of
        self.ttl = ttl
        self.in_flight_timeout = in_flight_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keyed = scope["type"] == "http" and scope["method"] == "POST"
        given = _key_values(scope) if keyed else []
        owner = await self.scope_of(scope) if given else None
        if owner is None:
            await self.app(scope, receive, send)
        else:
            await self._keyed(scope, receive, send, owner, given)

    async def _keyed(
        self, scope: Scope, receive: Receive, send: Send, owner: str, given: list[str]
    ) -> None:
        try:
            if len(given) > 1:
                raise InvalidIdempotencyKey("Send one Idempotency-Key header, not several.")
            key = validate_key(given[0])
        except InvalidIdempotencyKey as error:
            await _send_error(scope, send, error)
            return
        try:
            body = await _read_body(receive)
        except PayloadTooLarge as too_large:
            await send_problem(
                scope,
                send,
                name="payload-too-large",
                title="Payload too large",
                status=413,
                detail=str(too_large.detail),
            )
            return
        fingerprint = request_fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b""), body
        )
        outcome = await claim(
            self.db, owner, key, fingerprint, ttl=self.ttl, in_flight_timeout=self.in_flight_timeout
        )
        if isinstance(outcome, ExistingKey):
            await self._answer_existing(scope, send, outcome, fingerprint)
        else:
            await self._run_once(scope, _receive_again(body, receive), send, outcome)

    async def _answer_existing(
        self, scope: Scope, send: Send, existing: ExistingKey, fingerprint: str
    ) -> None:
        if existing.fingerprint != fingerprint:
            await _send_error(
                scope,
                send,
                IdempotencyKeyReused(
                    "This Idempotency-Key was first sent with another method, path, query or "
                    "body; use a new key for a new request."
                ),
            )
        elif existing.response is None:
            await _send_error(
                scope,
                send,
                IdempotencyKeyInFlight(
                    "The first request with this Idempotency-Key has not finished.",
                    headers={"Retry-After": "1"},
                ),
            )
        else:
            await _replay(send, existing.response)

    async def _run_once(
        self, scope: Scope, receive: Receive, send: Send, claim_id: uuid.UUID
    ) -> None:
        recorder = _ResponseRecorder(send)
        try:
            await self.app(scope, receive, recorder)
        except BaseException:
            await self._release(claim_id)
            raise
        response = recorder.response()
        try:
            if response is None:
                await release(self.db, claim_id)
            else:
                await complete(self.db, claim_id, response)
        except Exception:
            # The client already has its answer; a stuck claim times out (in_flight_timeout).
            log.exception("idempotency_store_failed", path=scope.get("path"))

    async def _release(self, claim_id: uuid.UUID) -> None:
        try:
            await release(self.db, claim_id)
        except Exception:
            log.exception("idempotency_release_failed")
