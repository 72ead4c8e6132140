"""Admin IP allowlist, as pure ASGI middleware: admin paths answer 403 ``ip-not-allowed``
to a client address outside the configured networks.

The address is ``scope["client"]``, already rewritten from ``X-Forwarded-For`` only when
the peer is a trusted proxy, so a client cannot claim an allowlisted address itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from servio.platform.errors import register_problem
from servio.platform.http.middleware import send_problem
from servio.platform.http.paths import ADMIN_PREFIXES, under

IP_NOT_ALLOWED = "ip-not-allowed"
IP_NOT_ALLOWED_TITLE = "Address not allowed"
register_problem(
    IP_NOT_ALLOWED,
    403,
    IP_NOT_ALLOWED_TITLE,
    "Admin routes answer only to client addresses in the configured allowlist.",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> list[Network]:
    """CIDRs or single addresses (``10.0.0.0/8``, ``2001:db8::/32``, ``203.0.113.9``)."""
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items]


def address_allowed(host: str | None, networks: Sequence[Network]) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # no IPv6 zone
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class AdminIpAllowlistMiddleware:
    def __init__(
        self, app: ASGIApp, *, allowed: Iterable[str], prefixes: Sequence[str] = ADMIN_PREFIXES
    ) -> None:
        self.app = app
        self.networks = parse_networks(allowed)
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not under(scope["path"], self.prefixes):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = client[0] if client else None
        if address_allowed(host, self.networks):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            await send_problem(
                scope,
                send,
                name=IP_NOT_ALLOWED,
                title=IP_NOT_ALLOWED_TITLE,
                status=403,
                detail=f"Admin routes are not open to your address ({host or 'unknown'}).",
            )
