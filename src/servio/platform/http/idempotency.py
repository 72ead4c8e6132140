"""Pure-ASGI ``Idempotency-Key`` handling for POST requests.

A POST with an ``Idempotency-Key`` whose caller the wiring can name (``scope_of``
returns the verified org and principal) runs at most once per key: the first request
claims the key, runs, and its response is kept, unless it is a server error, an answer
inviting a retry (408, 429) or an answer about the caller's credentials rather than the
request (401, 403, the read-only 409); a retry with the same request gets that response
again with ``Idempotent-Replayed: true``, the same key on a different request is a 409,
and a duplicate that arrives while the first still runs is a 409 with ``Retry-After``.
The answer is held until it is whole and its key settled (see ``_HeldAnswer``), so a
retry sent the instant the answer arrives is a replay. Sits inside the response guard,
which limits the body this layer buffers and hardens every replayed response like any
other."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.db import Database
from servio.platform.errors import PROBLEM_CONTENT_TYPE, DomainError
from servio.platform.http.auth import ReadOnly
from servio.platform.http.middleware import PayloadTooLarge, send_payload_too_large, send_problem
from servio.platform.idempotency import (
    IN_FLIGHT_TIMEOUT,
    KEY_TTL,
    AnswerNotKept,
    ExistingKey,
    IdempotencyAnswerLost,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    RunningClaim,
    StoredResponse,
    claim,
    complete,
    release,
    request_fingerprint,
    running,
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
# Answers that invite the client to retry are not kept, or the retry could never succeed;
# nor are answers about the caller's credentials rather than about the request (refused
# sign-in, missing permission, a read-only business): after signing in again, being
# granted the permission or the business leaving read-only, the same key must run.
_NOT_KEPT = frozenset({401, 403, 407, 408, 429})
_CALLER_PROBLEMS = frozenset({ReadOnly.type})
_PROBLEM_CONTENT_TYPE = PROBLEM_CONTENT_TYPE.encode()

log = get_logger("servio.idempotency")


async def no_idempotency_scope(_scope: Scope) -> str | None:
    """The scope of no request: idempotency stays off until identity supplies one."""
    return None


def _caller_problem(headers: Iterable[tuple[bytes, bytes]], body: bytes) -> bool:
    """Whether a Problem+JSON body is one of the answers about the caller (read-only)."""
    if not any(k.lower() == b"content-type" and _PROBLEM_CONTENT_TYPE in v for k, v in headers):
        return False
    try:
        problem = json.loads(body)
    except ValueError:
        return False
    name = str(problem.get("type", "")) if isinstance(problem, dict) else ""
    return name.rsplit("/", 1)[-1] in _CALLER_PROBLEMS


def kept_response(
    status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> StoredResponse | None:
    """What a retry with the same key is answered with, or None when it runs again:
    server errors, answers inviting a retry and answers about the caller are not kept."""
    headers = list(headers)
    if status >= 500 or status in _NOT_KEPT:
        return None
    if status == 409 and _caller_problem(headers, body):
        return None
    kept = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in headers
        if name.decode("latin-1").lower() in REPLAYED_HEADERS
    ]
    return StoredResponse(status=status, headers=kept, body=body)


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


_HELD = frozenset({"http.response.start", "http.response.body"})


class _HeldAnswer:
    """Holds the app's answer until it is whole, settles the claim, and only then sends.

    The guarantee: no byte of an answer reaches the client before its key is settled. A
    kept answer is stored first, so a retry sent the instant the answer arrives finds it
    and is replayed; an answer that is not kept lets the claim go first, so that retry
    runs again instead of meeting a claim still in flight. When storing fails, the answer
    is withheld and the client gets a 503 instead: it never holds a success its key would
    not replay. Messages after the final body (none in practice) pass straight through,
    and work the app does after its answer (background tasks) does not delay it.
    """

    def __init__(self, scope: Scope, send: Send, db: Database, claim: RunningClaim) -> None:
        self.scope = scope
        self.send = send
        self.db = db
        self.claim = claim
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if self.claim.settled or message["type"] not in _HELD:
            await self.send(message)
        elif message["type"] == "http.response.start":
            self.start = message
        else:
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._settle_and_send()

    async def _settle_and_send(self) -> None:
        assert self.start is not None, "a response body before its start"
        self.claim.settled = True
        body = b"".join(self.chunks)
        kept = kept_response(int(self.start["status"]), self.start.get("headers", ()), body)
        if kept is None:
            await release_quietly(self.db, self.claim.id)
        else:
            try:
                await complete(self.db, self.claim.id, kept)
            except AnswerNotKept as taken_over:
                await _send_error(self.scope, self.send, taken_over)
                return
            except Exception:
                log.exception("idempotency_store_failed", path=self.scope.get("path"))
                await _send_error(self.scope, self.send, AnswerNotKept())
                return
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": body})


async def release_quietly(db: Database, claim_id: uuid.UUID) -> None:
    """Let the claim go; if even that fails, it is abandoned after the in-flight timeout."""
    try:
        await release(db, claim_id)
    except Exception:
        log.exception("idempotency_release_failed")


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
            await send_payload_too_large(scope, send, str(too_large.detail))
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
        elif existing.answer_lost:
            await _send_error(
                scope,
                send,
                IdempotencyAnswerLost(
                    "The first request with this Idempotency-Key committed its changes but "
                    "its answer was lost; it will not run again."
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
        claim = RunningClaim(claim_id)
        try:
            with running(claim):
                await self.app(scope, receive, _HeldAnswer(scope, send, self.db, claim))
        finally:
            # A crash, or a return without a whole answer: nothing was sent, nothing kept.
            if not claim.settled:
                await release_quietly(self.db, claim_id)
