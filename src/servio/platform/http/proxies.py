"""Which peers may tell us who the client is: ``X-Forwarded-For`` and
``X-Forwarded-Proto`` are believed only from trusted proxies (addresses, networks,
literals such as a unix socket path, or ``*``), with the semantics of uvicorn's
``ProxyHeadersMiddleware``: the client is the rightmost address that is not a trusted
proxy, and the scheme is taken when it is one of http, https, ws, wss."""

from __future__ import annotations

import ipaddress
from typing import TypeAlias

_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_CACHE_LIMIT = 4096
_LONGEST_HOST = 253  # longer than a DNS name: never trusted, never cached

_Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def _host_port(value: str) -> tuple[str, int]:
    """A forwarded ``host``, ``host:port`` or ``[v6]:port``; anything malformed is kept
    whole, without a port, so that a trust check never normalizes arbitrary input."""
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return value, 0
        host, rest = value[1:end], value[end + 1 :]
        if not rest:
            return host, 0
        if not rest.startswith(":"):
            return value, 0
        try:
            return host, int(rest[1:])
        except ValueError:
            return host, 0
    if value.count(":") == 1:
        host, port = value.rsplit(":", 1)
        try:
            return host, int(port)
        except ValueError:
            return value, 0
    return value, 0


class TrustedProxies:
    def __init__(self, hosts: list[str] | str) -> None:
        if isinstance(hosts, str):
            hosts = [item.strip() for item in hosts.split(",")]
        self.always = hosts == ["*"]
        self.literals: set[str] = set()
        self.addresses: set[_Address] = set()
        self.networks: set[_Network] = set()
        for host in hosts:
            try:
                if "/" in host:
                    self.networks.add(ipaddress.ip_network(host))
                else:
                    self.addresses.add(ipaddress.ip_address(host))
            except ValueError:
                self.literals.add(host)
        self._known: dict[str, bool] = {}

    def trusts(self, host: str | None) -> bool:
        if self.always:
            return True
        if not host:
            return False
        known = self._known.get(host)
        if known is None:
            known = self._compute(host)
            if len(host) <= _LONGEST_HOST:
                if len(self._known) >= _CACHE_LIMIT:
                    self._known.clear()
                self._known[host] = known
        return known

    def _compute(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return host in self.literals
        return ip in self.addresses or any(ip in net for net in self.networks)

    def client(self, forwarded_for: str) -> tuple[str, int]:
        """The client behind the proxies: the rightmost untrusted hop, or the leftmost
        when every hop is trusted (then the client is itself one of the proxies)."""
        hops = [item.strip() for item in forwarded_for.split(",")]
        if not self.always:
            for hop in reversed(hops):
                host, port = _host_port(hop)
                if not self.trusts(host):
                    return host, port
        return _host_port(hops[0])

    @staticmethod
    def scheme(forwarded_proto: bytes) -> str | None:
        proto = forwarded_proto.decode("latin-1").strip()
        return proto if proto in _SCHEMES else None
