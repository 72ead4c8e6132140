"""The guard in front of every outbound request to a URL someone else chose.

A target is refused unless every address its host resolves to is public: loopback,
private, link-local, carrier-grade NAT, unique-local, multicast, unspecified, reserved
and cloud metadata addresses are refused, also when wrapped in IPv6 (IPv4-mapped,
6to4, NAT64). ``allow_private`` (dev/test only) lets loopback and private networks
through; metadata endpoints, multicast, reserved and unspecified addresses never pass. The
check runs when a URL is saved and again for every connection a send opens, which goes
to an address the guard just vetted, so a DNS answer that changes in between (DNS
rebinding) cannot steer a request inside: the sends' HTTP client resolves host names
through ``GuardedResolver``, which hands it only vetted addresses (a connection kept
for later sends stays with the address vetted when it opened), and a URL whose host is
an address is checked by ``literal_address`` before each send (the client never
resolves those). URLs are parsed by yarl, the parser of the client that connects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

METADATA_HOSTS = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean …
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
SITE_LOCAL = ipaddress.ip_network("fec0::/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Classes ``allow_private`` lets through; every other class is always refused.
PRIVATE_CLASSES = frozenset(
    {"loopback", "private", "link-local", "carrier-grade NAT", "unique-local"}
)


class TargetRefused(Exception):
    """The URL may not be called: bad shape, or an address the guard refuses."""


class TargetUnresolvable(Exception):
    """The host did not resolve now; it may later (not the URL's fault for certain)."""


@dataclass(frozen=True)
class Target:
    url: URL
    host: str
    port: int


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_class(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (None: it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return address_class(inner)
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local or ip in SITE_LOCAL:
        return "link-local"
    if ip in CGNAT:
        return "carrier-grade NAT"
    if ip in UNIQUE_LOCAL:
        return "unique-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why a request to ``ip`` is refused under this policy (None: allowed)."""
    found = address_class(ip)
    if found is None or (allow_private and found in PRIVATE_CLASSES):
        return None
    return f"{found} address"


def parse_target(url: str, *, allow_http: bool) -> Target:
    """Check the URL's shape: absolute http(s), a host, no credentials, not a metadata
    host name. Addresses are checked by ``vet``."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes or not parsed.is_absolute():
        raise TargetRefused(f"the URL must use {' or '.join(schemes)}")
    host = (parsed.raw_host or "").rstrip(".").lower()
    if not host:
        raise TargetRefused("the URL has no host")
    if parsed.user is not None or parsed.password is not None:
        raise TargetRefused("credentials in the URL are not accepted")
    if parsed.fragment:
        raise TargetRefused("the URL may not carry a #fragment")
    if host in METADATA_HOSTS:
        raise TargetRefused("cloud metadata host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return Target(url=parsed, host=host, port=port)


def literal_address(target: Target, *, allow_private: bool) -> IPAddress | None:
    """The address a URL names directly (None when it names a host), if allowed.

    An HTTP client connects to such a host without resolving it, so no resolver sees
    it. Numeric hosts are taken as aiohttp takes them (a colon, or only digits and
    dots); the legacy spellings of IPv4 (``2130706433``, ``127.1``) are refused."""
    host = target.host
    if ":" not in host and not host.replace(".", "").isdigit():
        return None
    try:
        ip = ipaddress.ip_address(host.replace("%25", "%"))
    except ValueError:
        raise TargetRefused(f"{host} is not a canonical IP address") from None
    reason = refusal(ip, allow_private=allow_private)
    if reason is not None:
        raise TargetRefused(f"{host} is a {reason}")
    return ip


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def vet(
    target: Target,
    *,
    allow_private: bool,
    resolve: Resolver = system_resolve,
    resolve_seconds: float = 5.0,
) -> list[IPAddress]:
    """The addresses of ``target``'s host, IPv4 first, when every one of them is allowed;
    ``TargetRefused`` when any is not, ``TargetUnresolvable`` when none came back."""
    return await vet_host(
        target.host,
        target.port,
        allow_private=allow_private,
        resolve=resolve,
        resolve_seconds=resolve_seconds,
    )


async def vet_host(
    host: str,
    port: int,
    *,
    allow_private: bool,
    resolve: Resolver = system_resolve,
    resolve_seconds: float = 5.0,
) -> list[IPAddress]:
    """``vet`` for a host name and port."""
    try:
        async with asyncio.timeout(resolve_seconds):
            found = await resolve(host, port)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise TargetUnresolvable(f"{host} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(a) for a in found]
    if not addresses:
        raise TargetUnresolvable(f"{host} resolves to no address")
    for ip in addresses:
        reason = refusal(ip, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(f"{host} resolves to {ip} ({reason})")
    return sorted(addresses, key=lambda ip: ip.version)


NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class GuardedResolver(AbstractResolver):
    """The resolver of guarded sends' HTTP client: every new connection's host is
    resolved and vetted here, and the client connects only to the addresses returned,
    so what it connects to is what was just vetted. Raises ``TargetRefused`` or
    ``TargetUnresolvable`` through the client's request."""

    def __init__(
        self, *, allow_private: bool, resolve: Resolver = system_resolve, resolve_seconds: float
    ) -> None:
        self.allow_private = allow_private
        self.resolve_host = resolve
        self.resolve_seconds = resolve_seconds

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await vet_host(
            host.rstrip(".").lower(),
            port,
            allow_private=self.allow_private,
            resolve=self.resolve_host,
            resolve_seconds=self.resolve_seconds,
        )
        wanted = {socket.AF_INET: 4, socket.AF_INET6: 6}.get(family)
        found: list[ResolveResult] = [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                "proto": socket.IPPROTO_TCP,
                "flags": NUMERIC_FLAGS,
            }
            for ip in addresses
            if wanted is None or ip.version == wanted
        ]
        if not found:
            raise TargetUnresolvable(f"{host} has no address of the family asked for")
        return found

    async def close(self) -> None:
        return None
