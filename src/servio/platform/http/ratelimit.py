"""Per-client-IP rate limits by path group, as pure ASGI middleware.

The client address is ``scope["client"]``, which the trusted-proxy layer has already
rewritten from ``X-Forwarded-For`` when the peer is a trusted proxy. IPv6 clients are
counted per /64, the block one subscriber usually holds, so rotating addresses inside
it buys nothing. Probes are never limited; nor are inbound webhooks, whose providers
sign every delivery and retry on 429 (a burst of events from one provider's address
would otherwise be delayed, not stopped).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.config import Settings
from servio.platform.http.middleware import send_problem
from servio.platform.http.paths import is_inbound_webhook, is_probe, under
from servio.platform.ratelimit import RateLimited, RateLimiter


@dataclass(frozen=True, slots=True)
class PathGroup:
    """Paths under ``prefixes`` share one budget per client address at ``rate``."""

    name: str
    prefixes: tuple[str, ...]
    rate: str


def path_groups(settings: Settings) -> list[PathGroup]:
    """The stricter groups from settings; other paths share ``SERVIO_RATE_LIMIT_DEFAULT``."""
    return [
        PathGroup("auth", ("/v1/auth",), settings.rate_limit_auth),
        PathGroup("admin", ("/admin", "/a"), settings.rate_limit_admin),
    ]


@functools.lru_cache(maxsize=8192)
def client_bucket(host: str) -> str:
    """What one client's hits are counted under: its IPv4 address or its IPv6 /64."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # no IPv6 zone
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _header_fields(fields: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in fields.items()
    ]


class IpRateLimitMiddleware:
    """Counts each request against its path group's budget for the client address;
    over budget answers 429 ``rate-limited`` with ``Retry-After``. Every counted
    response carries ``RateLimit-Limit``, ``-Remaining``, ``-Reset`` and ``-Policy``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        groups: Sequence[PathGroup],
        default_rate: str,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.groups = list(groups)
        self.default = PathGroup("default", (), default_rate)

    def _group_for(self, path: str) -> PathGroup:
        for group in self.groups:
            if under(path, group.prefixes):
                return group
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        client = scope.get("client")
        if scope["type"] != "http" or not client or is_probe(path) or is_inbound_webhook(path):
            await self.app(scope, receive, send)
            return
        group = self._group_for(path)
        decision = await self.limiter.hit(f"ip:{group.name}:{client_bucket(client[0])}", group.rate)
        if not decision.allowed:
            await send_problem(
                scope,
                send,
                name=RateLimited.type,
                title=RateLimited.title,
                status=429,
                detail=f"Too many requests from your address; try again in "
                f"{decision.retry_after} seconds.",
                headers=decision.headers(),
            )
            return
        fields = _header_fields(decision.headers())
        if not fields:  # not counted (limits off, or the store is down)
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = message.get("headers", [])
                # A route that applied a narrower limit of its own reports that one.
                if not any(name.lower() == b"ratelimit-limit" for name, _ in existing):
                    message["headers"] = [*existing, *fields]
            await send(message)

        await self.app(scope, receive, send_with_quota)
