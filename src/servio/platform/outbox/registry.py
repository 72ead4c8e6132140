"""What each outbox kind does: handlers registered by domains, by kind."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class PermanentFailure(Exception):
    """The message can never succeed (bad address, rejected payload): dead-letter now."""


class Skipped(Exception):
    """Deliberately not delivered (the recipient opted out): final, and not a failure."""


class RetryLater(Exception):
    """Not now, and not the handler's fault (the provider asked to slow down)."""

    def __init__(self, message: str, *, after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds


@dataclass(frozen=True)
class Delivery:
    """One attempt at one message, as a handler sees it. ``dedupe_key`` is what to give
    the provider as its idempotency key."""

    id: uuid.UUID
    org_id: uuid.UUID | None
    kind: str
    payload: Any
    dedupe_key: str
    attempt: int


Handler = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    provider: str | None
    timeout_seconds: float


@dataclass
class OutboxRegistry:
    routes: dict[str, Route] = field(default_factory=dict)

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        provider: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        """``provider`` groups kinds behind one circuit breaker (e.g. "smtp")."""
        if kind in self.routes:
            raise ValueError(f"outbox kind {kind!r} is registered twice")
        self.routes[kind] = Route(handler, provider, timeout_seconds)

    def kinds_of(self, providers: set[str]) -> list[str]:
        return [k for k, r in self.routes.items() if r.provider in providers]
