"""Request ids, security headers, CORS and trusted proxies, through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from servio.platform.config import Settings
from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.routes import install_probe_routes


async def test_well_formed_request_id_is_echoed(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz", headers={"X-Request-ID": "abc-123_def.456"})
    assert response.headers["x-request-id"] == "abc-123_def.456"


@pytest.mark.parametrize(
    "given", ["bad id!", "short", "x" * 200, "a\tb" * 5, "<script>alert</script>"]
)
async def test_malformed_request_id_is_replaced(api: httpx.AsyncClient, given: str) -> None:
    response = await api.get("/healthz", headers={"X-Request-ID": given})
    rid = response.headers["x-request-id"]
    assert rid != given
    assert len(rid) == 32
    assert all(c in "0123456789abcdef" for c in rid)


async def test_missing_request_id_is_generated_and_unique(api: httpx.AsyncClient) -> None:
    ids = {(await api.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_security_headers_on_every_response(api: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/nowhere"):
        headers = (await api.get(path)).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "strict-transport-security" not in headers  # only in production


@asynccontextmanager
async def _client_for(
    settings: Settings, client: tuple[str, int] = ("127.0.0.1", 123)
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, client=client) as http:
        install_probe_routes(app_of(http))
        yield http


async def test_cors_allows_configured_origins_only(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, cors_origins="https://shop.example.com")
    async with _client_for(settings) as client:
        preflight = await client.options(
            "/healthz",
            headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        other = await client.get("/healthz", headers={"Origin": "https://evil.example.net"})
        assert "access-control-allow-origin" not in other.headers


def test_production_refuses_wildcard_cors_with_credentials(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="SERVIO_CORS_ORIGINS"):
        Settings(
            env="prod",
            database_url=sqlite_url,
            secret_key="k" * 40,
            metrics_token="m" * 20,
            cors_origins="*",
            cors_allow_credentials=True,  # type: ignore[arg-type]
        )


async def test_forwarded_client_ip_is_trusted_only_from_trusted_proxies(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, trusted_proxies="10.0.0.5")
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    async with _client_for(settings, client=("10.0.0.5", 4000)) as via_proxy:
        body = (await via_proxy.get("/_t/client", headers=forwarded)).json()
        assert body == {"ip": "203.0.113.9", "scheme": "https"}
    async with _client_for(settings, client=("198.51.100.7", 4000)) as direct:
        body = (await direct.get("/_t/client", headers=forwarded)).json()
        assert body == {"ip": "198.51.100.7", "scheme": "http"}
