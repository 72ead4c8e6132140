"""One signed POST to a receiver, and what its answer means for the message.

The URL's shape is checked before each send, and every connection goes to an address the
guard vetted when it was opened (the host name travels in ``Host`` and, for https, in
SNI and certificate checks). Connections are kept per origin between sends. Redirects
are not followed, proxies from the environment are ignored, connect and read have their
own timeouts and the whole attempt a deadline. The answer is kept as the start of its
body (``snippet_chars``), never more.

Verdicts: 2xx delivered; 410 gone (the receiver asks us to stop); 408, 425, 429 and 5xx,
timeouts and network errors are retried; other 3xx/4xx are rejected for good, as is a
refused address. A host that does not resolve right now is retried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp

from servio.platform.outbox import PermanentFailure, RetryLater
from servio.platform.outbox.http import HttpClients, HttpError, HttpResponse, InvalidUrl
from servio.platform.webhooks_out.guard import (
    GuardedResolver,
    Resolver,
    Target,
    TargetRefused,
    TargetUnresolvable,
    literal_address,
    parse_target,
    system_resolve,
    vet,
)

USER_AGENT = "Servio-Webhooks/1.0"
RETRY_STATUSES = frozenset({408, 425, 429})
MAX_RETRY_AFTER_SECONDS = 3600.0


class Verdict(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"
    REJECTED = "rejected"
    REFUSED = "refused"
    RETRY = "retry"


class DeliveryFailed(Exception):
    """The receiver could not take the message now; the outbox retries with backoff."""


@dataclass(frozen=True)
class SendPolicy:
    """Where and how outbound requests may go; built once from settings."""

    allow_private: bool = False
    allow_http: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    snippet_chars: int = 500
    resolve: Resolver = field(default=system_resolve)


@dataclass(frozen=True)
class Attempt:
    """What one send did: the answer's status and start, how long it took, or the error."""

    verdict: Verdict
    status_code: int | None = None
    latency_ms: int | None = None
    response_snippet: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == Verdict.DELIVERED


async def check_url(url: str, policy: SendPolicy) -> Target:
    """``url`` if the guard lets it through now; ``TargetRefused`` or
    ``TargetUnresolvable`` otherwise."""
    target = parse_target(url, allow_http=policy.allow_http)
    await vet(
        target,
        allow_private=policy.allow_private,
        resolve=policy.resolve,
        resolve_seconds=policy.connect_timeout,
    )
    return target


def verdict_of(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.GONE
    if status in RETRY_STATUSES or status >= 500:
        return Verdict.RETRY
    return Verdict.REJECTED


def _retry_after(response: HttpResponse) -> float | None:
    value = response.headers.get("retry-after", "")
    if not value.strip().isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


class Sender:
    """Signed POSTs under one policy over connections kept per origin: a worker keeps
    one (closed with its container), so a receiver's connection serves many messages.

    A connection is opened only to addresses the guard's resolver just vetted; reusing
    it later sends to the same vetted address."""

    def __init__(self, policy: SendPolicy) -> None:
        self.policy = policy
        connect, read = policy.connect_timeout, policy.read_timeout
        self.http = HttpClients(
            # Resolving (bounded by the connect timeout), connecting, then the answer.
            timeout=aiohttp.ClientTimeout(
                total=2 * connect + read, sock_connect=connect, sock_read=read
            ),
            resolver=GuardedResolver(
                allow_private=policy.allow_private,
                resolve=policy.resolve,
                resolve_seconds=connect,
            ),
            cache_dns=False,  # every new connection is vetted afresh
            headers={"user-agent": USER_AGENT},
        )

    async def post(self, url: str, body: str, headers: dict[str, str]) -> Attempt:
        """POST ``body`` to ``url`` once, vetting its addresses again; never raises for
        the receiver's or the network's failures (they are in the ``Attempt``)."""
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        policy = self.policy
        try:
            target = parse_target(url, allow_http=policy.allow_http)
            literal_address(target, allow_private=policy.allow_private)
            response = await self.http.post(
                target.url,
                data=body.encode(),
                headers=headers,
                read_limit=policy.snippet_chars * 4,  # enough for the chars, in UTF-8
            )
        except TargetRefused as exc:
            return Attempt(Verdict.REFUSED, error=f"refused: {exc}", latency_ms=took())
        except TargetUnresolvable as exc:
            return Attempt(Verdict.RETRY, error=str(exc), latency_ms=took())
        except InvalidUrl as exc:
            return Attempt(Verdict.REFUSED, error=f"refused: not a valid URL ({exc})"[:500])
        except TimeoutError:
            return Attempt(Verdict.RETRY, error="timeout: the receiver did not answer in time")
        except HttpError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            return Attempt(Verdict.RETRY, error=error, latency_ms=took())
        return Attempt(
            verdict_of(response.status_code),
            status_code=response.status_code,
            latency_ms=took(),
            response_snippet=response.text[: policy.snippet_chars],
            retry_after=_retry_after(response),
        )

    async def aclose(self) -> None:
        await self.http.aclose()


async def post(url: str, body: str, headers: dict[str, str], policy: SendPolicy) -> Attempt:
    """One send through a ``Sender`` of its own, closed after it (workers keep one)."""
    sender = Sender(policy)
    try:
        return await sender.post(url, body, headers)
    finally:
        await sender.aclose()


def settle(attempt: Attempt) -> None:
    """Return when delivered; otherwise raise what the outbox needs: a permanent failure
    (dead letter) or a retry, after the receiver's Retry-After when it sent one."""
    if attempt.ok:
        return
    what = attempt.error or f"the receiver answered {attempt.status_code}"
    if attempt.verdict in (Verdict.GONE, Verdict.REJECTED, Verdict.REFUSED):
        raise PermanentFailure(what)
    if attempt.retry_after is not None:
        raise RetryLater(what, after_seconds=attempt.retry_after)
    raise DeliveryFailed(what)
