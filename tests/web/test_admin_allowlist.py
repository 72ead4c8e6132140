"""The admin IP allowlist through the real app: IPv4, IPv6, trusted proxies only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from servio.platform.http.admin_guard import AdminIpAllowlistMiddleware
from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.problems import assert_problem

ALLOWLIST = "192.0.2.0/24, 2001:db8::/32, 198.51.100.10"


async def _admin_page() -> dict[str, bool]:
    return {"admin": True}


@asynccontextmanager
async def _client(
    sqlite_url: str, client: tuple[str, int], **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    overrides.setdefault("admin_ip_allowlist", ALLOWLIST)
    async with app_client(make_settings(sqlite_url, **overrides), client=client) as http:
        for path in ("/admin/_t/allowlisted", "/v1/admin/_t/allowlisted"):
            app_of(http).add_api_route(path, _admin_page)
        yield http


@pytest.mark.parametrize(
    "address", ["192.0.2.7", "198.51.100.10", "2001:db8::5", "2001:db8:ffff::1", "::ffff:192.0.2.9"]
)
async def test_admin_routes_answer_inside_the_allowlist(sqlite_url: str, address: str) -> None:
    async with _client(sqlite_url, (address, 4000)) as client:
        for path in ("/admin/_t/allowlisted", "/v1/admin/_t/allowlisted"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.json() == {"admin": True}


@pytest.mark.parametrize("address", ["203.0.113.9", "198.51.100.11", "2001:db9::1", "::1"])
async def test_admin_routes_refuse_outside_the_allowlist(sqlite_url: str, address: str) -> None:
    async with _client(sqlite_url, (address, 4000)) as client:
        for path in (
            "/admin/_t/allowlisted",
            "/v1/admin/_t/allowlisted",
            "/admin",
            "/v1/admin/nothing",
        ):
            body = assert_problem(await client.get(path), 403, "ip-not-allowed")
            assert body["title"] == "Address not allowed"
            assert body["detail"] == f"Admin routes are not open to your address ({address})."
        # Everything else stays open to the same address.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/problems/ip-not-allowed")).json()["status"] == 403
        assert_problem(await client.get("/administrators"), 404, "not-found")


async def test_forwarded_address_counts_only_from_a_trusted_proxy(sqlite_url: str) -> None:
    async with _client(sqlite_url, ("10.0.0.5", 4000), trusted_proxies="10.0.0.5") as proxy:
        inside = await proxy.get("/admin/_t/allowlisted", headers={"X-Forwarded-For": "192.0.2.7"})
        assert inside.json() == {"admin": True}
        outside = await proxy.get(
            "/admin/_t/allowlisted", headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert_problem(outside, 403, "ip-not-allowed")
    async with _client(sqlite_url, ("203.0.113.9", 4000), trusted_proxies="10.0.0.5") as direct:
        spoofed = await direct.get(
            "/admin/_t/allowlisted", headers={"X-Forwarded-For": "192.0.2.7"}
        )
        body = assert_problem(spoofed, 403, "ip-not-allowed")
        assert "203.0.113.9" in body["detail"]


async def test_an_empty_allowlist_lets_every_address_in(sqlite_url: str) -> None:
    async with _client(sqlite_url, ("203.0.113.9", 4000), admin_ip_allowlist="") as client:
        assert (await client.get("/admin/_t/allowlisted")).json() == {"admin": True}


async def test_admin_websockets_outside_the_allowlist_are_closed() -> None:
    reached: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(str(scope["path"]))

    guard = AdminIpAllowlistMiddleware(inner, allowed=["192.0.2.0/24"])
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    for host in ("203.0.113.9", "192.0.2.1"):
        scope = {"type": "websocket", "path": "/admin/live", "client": (host, 1), "headers": []}
        await guard(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert reached == ["/admin/live"]
