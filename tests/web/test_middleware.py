"""Request ids, security headers, CORS and trusted proxies, through the real app."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from servio.platform.config import Settings
from servio.platform.http.middleware import EdgeMiddleware
from servio.platform.logging import configure_logging
from servio.platform.metrics import Metrics
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
            cors_allow_credentials=True,
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


_PROXY_CASES = [
    # (trusted proxies, peer, X-Forwarded-For values, X-Forwarded-Proto)
    ("10.0.0.5", "10.0.0.5", ["203.0.113.9"], "https"),
    ("10.0.0.5", "198.51.100.7", ["203.0.113.9"], "https"),
    ("10.0.0.0/8", "10.1.2.3", ["203.0.113.9, 10.0.0.7"], "http"),
    ("10.0.0.0/8, 192.168.0.1", "10.1.2.3", ["203.0.113.9", "192.168.0.1, 10.9.9.9"], None),
    ("10.0.0.5", "10.0.0.5", ["10.0.0.5"], "ftp"),
    ("10.0.0.5", "10.0.0.5", [""], " wss "),
    ("10.0.0.5", "10.0.0.5", ["203.0.113.9:4321"], None),
    ("::1, 127.0.0.1", "::1", ["[2001:db8::1]:8443"], "https"),
    ("::1", "::1", ["2001:db8::1", "[bad"], None),
    ("*", "198.51.100.7", ["203.0.113.9, 10.0.0.1"], "https"),
    ("unix:/run/proxy.sock", "unix:/run/proxy.sock", ["203.0.113.9"], "https"),
    ("10.0.0.5", None, ["203.0.113.9"], "https"),
    ("10.0.0.5", "10.0.0.5", [], None),
]


@pytest.mark.parametrize(("trusted", "peer", "forwarded_for", "proto"), _PROXY_CASES)
@pytest.mark.parametrize("kind", ["http", "websocket"])
async def test_forwarded_headers_are_read_as_uvicorn_reads_them(
    trusted: str, peer: str | None, forwarded_for: list[str], proto: str | None, kind: str
) -> None:
    """The edge replaced uvicorn's ProxyHeadersMiddleware: same client and scheme."""
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded_for]
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto.encode()))

    async def seen_by(middleware: type[Any], **options: Any) -> tuple[Any, Any]:
        seen: dict[str, Any] = {}

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            seen.update(client=scope.get("client"), scheme=scope["scheme"])

        scope: dict[str, Any] = {
            "type": kind,
            "method": "GET",
            "path": "/",
            "query_string": b"",
            "scheme": "ws" if kind == "websocket" else "http",
            "headers": list(headers),
            "client": (peer, 5000) if peer else None,
        }
        await middleware(app, **options)(scope, _no_receive, _no_send)
        return seen["client"], seen["scheme"]

    expected = await seen_by(ProxyHeadersMiddleware, trusted_hosts=trusted)
    got = await seen_by(
        EdgeMiddleware, metrics=Metrics(), trusted_proxies=trusted, max_body_bytes=1024
    )
    assert got == expected


async def _no_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _no_send(message: Message) -> None:
    return None


async def test_with_cors_guard_answers_carry_cors_and_hardening_headers(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, cors_origins="https://shop.example.com")
    origin = {"Origin": "https://shop.example.com"}
    async with app_client(settings, raise_errors=False) as client:
        install_probe_routes(app_of(client))
        failed = await client.get("/_t/boom", headers=origin)
        too_large = await client.post(
            "/_t/echo", content=b"x" * (settings.max_body_bytes + 1), headers=origin
        )
    for response, status in ((failed, 500), (too_large, 413)):
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == "https://shop.example.com"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.headers["x-request-id"]) == 32
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_guard_answers_are_counted_and_logged(sqlite_url: str) -> None:
    stream = io.StringIO()
    settings = make_settings(sqlite_url)
    try:
        async with app_client(settings, raise_errors=False) as client:
            install_probe_routes(app_of(client))
            configure_logging("info", "json", stream=stream)
            await client.get("/_t/boom", headers={"X-Request-ID": "boom-12345678"})
            await client.post(
                "/_t/echo",
                content=b"x" * (settings.max_body_bytes + 1),
                headers={"X-Request-ID": "big-12345678"},
            )
            metrics = (await client.get("/metrics")).text
    finally:
        configure_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = {line["request_id"]: line for line in lines if line.get("event") == "request"}
    assert access["boom-12345678"]["status"] == 500
    assert access["boom-12345678"]["route"] == "/_t/boom"
    assert access["big-12345678"]["status"] == 413
    assert access["big-12345678"]["route"] == "<unmatched>"
    failure = next(line for line in lines if line.get("event") == "unhandled_error")
    assert failure["request_id"] == "boom-12345678"
    assert 'route="/_t/boom",status="500"' in metrics
    assert 'route="<unmatched>",status="413"' in metrics


async def test_a_response_cannot_set_its_own_request_id(sqlite_url: str) -> None:
    async with _client_for(make_settings(sqlite_url)) as client:
        app = app_of(client)

        @app.get("/_t/own-id", summary="Sets X-Request-ID itself", tags=["test"])
        async def own_id() -> Response:
            return Response(b"", headers={"X-Request-ID": "mine-12345678"})

        response = await client.get("/_t/own-id", headers={"X-Request-ID": "given-12345678"})
    assert response.headers.get_list("x-request-id") == ["given-12345678"]
    assert response.headers["x-frame-options"] == "DENY"


async def test_a_response_may_set_its_own_hardening_header(sqlite_url: str) -> None:
    async with _client_for(make_settings(sqlite_url)) as client:
        app = app_of(client)

        @app.get("/_t/framable", summary="Allows framing by its own origin", tags=["test"])
        async def framable() -> Response:
            return Response(b"", headers={"X-Frame-Options": "SAMEORIGIN"})

        response = await client.get("/_t/framable")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) == 32
