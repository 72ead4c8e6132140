"""Rate limits: a moving window per key, kept in process memory or shared through Redis.

A limiter that cannot reach its store lets the request through (fails open): a Redis
outage must not take the API down with it. Each request let through unchecked is
counted, and each store failure logged; for a few seconds after a failure the store is
not asked again, so a dead Redis costs one short timeout, not one per request.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from servio.platform.errors import DomainError
from servio.platform.logging import get_logger

STORE_TIMEOUT_SECONDS = 0.25
STORE_COOLDOWN_SECONDS = 5.0
SWEEP_EVERY_SECONDS = 5.0


@functools.lru_cache(maxsize=256)
def parse_rate(rate: str) -> RateLimitItem:
    """One rate such as ``20/minute``, ``10/60 seconds`` or ``600 per hour``."""
    try:
        items = list(parse_many(rate))
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(
            f"{rate!r} is not one rate such as '20/minute', '10/60 seconds' or '600 per hour'"
        )
    return items[0]


class LimiterSettings(Protocol):
    """The settings a limiter is built from (``config.Settings`` has them; this module
    does not import the settings, which validate their rates with ``parse_rate``)."""

    @property
    def redis_url(self) -> str | None: ...
    @property
    def rate_limit_key_prefix(self) -> str: ...
    @property
    def rate_limit_enabled(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: allowed or not, and the quota left in the window.

    ``reset_after`` is the seconds until the window frees a request; ``checked`` is
    False when the store could not be asked and the request was let through.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    window: int
    checked: bool = True

    @property
    def retry_after(self) -> int | None:
        return None if self.allowed else max(1, self.reset_after)

    def headers(self) -> dict[str, str]:
        """The IETF ``RateLimit-*`` fields (and ``Retry-After`` when refused)."""
        if not self.checked:
            return {}
        fields = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }
        if self.retry_after is not None:
            fields["Retry-After"] = str(self.retry_after)
        return fields


class RateLimited(DomainError):
    status = 429
    type = "rate-limited"
    title = "Rate limit exceeded"
    description = (
        "Too many requests from this address or credential; wait the seconds Retry-After "
        "gives. RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset describe the quota."
    )

    def __init__(self, decision: Decision, detail: str | None = None) -> None:
        retry_after = decision.retry_after or 1
        super().__init__(
            detail or f"Too many requests; try again in {retry_after} seconds.",
            headers=decision.headers(),
            retry_after=retry_after,
        )


class LocalStorage(MemoryStorage):
    """limits' in-process store, dropping expired hits in one sweep every few seconds.

    The stock store starts a sweep of every key, one thread hop per key, on each hit;
    that doubled the cost of a request. Windows stay exact: a hit's age is read from
    its timestamp, the sweep only frees memory.
    """

    _next_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_SECONDS
            await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]

    async def _MemoryStorage__expire_events(self) -> None:
        now = time.time()
        for done, key in enumerate(list(self.events)):
            events = self.events.get(key, [])  # newest first
            del events[bisect.bisect_left(events, -now, key=lambda e: -e.expiry) :]
            if not events:
                self.events.pop(key, None)
                self.locks.pop(key, None)
            if done % 1000 == 999:
                await asyncio.sleep(0)  # let requests in between batches
        for key, expires in list(self.expirations.items()):
            if expires <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)


def _redis_storage(url: str, *, key_prefix: str, timeout: float) -> tuple[Storage, ConnectionPool]:
    # Short socket timeouts: a request waits at most this long on a dead Redis.
    pool = ConnectionPool.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    if url.startswith("unix://"):  # limits reads the scheme; redis-py takes the pool
        url = "redis+unix://" + url.removeprefix("unix://")
    storage = RedisStorage(
        url,
        implementation="redispy",
        key_prefix=key_prefix,
        connection_pool=pool,  # type: ignore[arg-type]  # passed through to redis-py
    )
    return storage, pool


class RateLimiter:
    """Counts hits per key against a rate; ``hit`` says whether this one is allowed."""

    def __init__(
        self,
        storage: Storage | None = None,
        *,
        enabled: bool = True,
        on_store_error: Callable[[], object] | None = None,
        cooldown_seconds: float = STORE_COOLDOWN_SECONDS,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.storage = storage or LocalStorage()
        self.enabled = enabled
        self._strategy = MovingWindowRateLimiter(self.storage)
        self._on_store_error = on_store_error
        self._cooldown = cooldown_seconds
        self._pool = pool
        self._resume_at = 0.0

    @classmethod
    def from_settings(
        cls, settings: LimiterSettings, *, on_store_error: Callable[[], object] | None = None
    ) -> RateLimiter:
        """Redis when ``SERVIO_REDIS_URL`` is set (shared by every replica), else memory."""
        if not settings.redis_url:
            return cls(enabled=settings.rate_limit_enabled, on_store_error=on_store_error)
        storage, pool = _redis_storage(
            settings.redis_url,
            key_prefix=settings.rate_limit_key_prefix,
            timeout=STORE_TIMEOUT_SECONDS,
        )
        return cls(
            storage, enabled=settings.rate_limit_enabled, on_store_error=on_store_error, pool=pool
        )

    @property
    def shared(self) -> bool:
        return isinstance(self.storage, RedisStorage)

    async def hit(self, key: str, rate: str) -> Decision:
        """Count one request for ``key`` against ``rate`` and say whether it may proceed."""
        item = parse_rate(rate)
        if not self.enabled or time.monotonic() < self._resume_at:
            return self._unchecked(item, counted=self.enabled)
        try:
            allowed = await self._strategy.hit(item, key)
            reset_at, remaining = await self._strategy.get_window_stats(item, key)
        except Exception as exc:  # any store failure: let the request through
            self._resume_at = time.monotonic() + self._cooldown
            get_logger("servio.ratelimit").warning(
                "ratelimit_store_failed",
                error=type(exc).__name__,
                reason=str(exc)[:200],
                retry_in_seconds=self._cooldown,
            )
            return self._unchecked(item, counted=True)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, remaining),
            reset_after=max(0, math.ceil(reset_at - time.time())),
            window=item.get_expiry(),
        )

    def _unchecked(self, item: RateLimitItem, *, counted: bool) -> Decision:
        if counted and self._on_store_error is not None:
            self._on_store_error()
        return Decision(
            allowed=True,
            limit=item.amount,
            remaining=item.amount,
            reset_after=0,
            window=item.get_expiry(),
            checked=False,
        )

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        timer = getattr(self.storage, "timer", None)  # the memory store's expiry task
        if timer is not None and not timer.done():
            timer.cancel()


async def enforce(limiter: RateLimiter, key: str, rate: str) -> Decision:
    """Count a hit for ``key`` (e.g. a principal, at its org's rate); raise ``RateLimited``
    (429 with ``Retry-After``) when over the rate, else return the decision, whose
    ``headers()`` a route may add to its response."""
    decision = await limiter.hit(key, rate)
    if not decision.allowed:
        raise RateLimited(decision)
    return decision
