"""Every error is Problem+JSON with type, title, status, detail, instance, request_id."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from servio.platform.config import Settings
from tests.support.app import app_client, app_of
from tests.support.problems import assert_problem
from tests.support.routes import install_probe_routes


@pytest.fixture
def client(api: httpx.AsyncClient) -> httpx.AsyncClient:
    install_probe_routes(api.app)  # type: ignore[attr-defined]
    return api


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nothing-here"), 404, "not-found")
    assert "/v1/nothing-here" in str(body["detail"])


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_t/echo", content=b'{"beds": 2,', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "validation-error")
    assert body["detail"] == "The body is not valid JSON."
    assert body["errors"][0]["type"] == "json_invalid"


async def test_invalid_fields_are_listed_with_path_and_message(client: httpx.AsyncClient) -> None:
    response = await client.post("/_t/echo", json={"beds": 99})
    body = assert_problem(response, 422, "validation-error")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert set(fields) == {"body.beds", "body.email"}
    assert "less than or equal to 10" in fields["body.beds"]
    assert fields["body.email"] == "Field required"


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        response = await client.post("/_t/echo", content=b'{"beds":1}', headers=headers)
        body = assert_problem(response, 415, "unsupported-media-type")
        assert "application/json" in str(body["detail"])


async def test_json_subtypes_are_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_t/echo",
        content=b'{"beds": 1, "email": "a@b.co"}',
        headers={"content-type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert response.json() == {"beds": 1, "email": "a@b.co"}


async def test_oversize_declared_body_is_413(client: httpx.AsyncClient) -> None:
    limit = client.app.state.container.settings.max_body_bytes  # type: ignore[attr-defined]
    response = await client.post(
        "/_t/echo", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_oversize_streamed_body_is_413(client: httpx.AsyncClient) -> None:
    limit = client.app.state.container.settings.max_body_bytes  # type: ignore[attr-defined]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    response = await client.post(
        "/_t/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload-too-large")


async def test_rate_limited_is_429_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/_t/slow-down")
    assert_problem(response, 429, "too-many-requests")
    assert response.headers["retry-after"] == "30"


async def test_a_domain_error_retry_after_becomes_the_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/_t/busy")
    body = assert_problem(response, 429, "too-many-requests")
    assert body["detail"] == "Busy; try again in 12 seconds."
    assert response.headers["retry-after"] == "12"


async def test_500_shows_no_trace_and_no_sql(client: httpx.AsyncClient) -> None:
    response = await client.get("/_t/boom")
    body = assert_problem(response, 500, "internal-error")
    text = response.text
    for leak in ("Traceback", "SELECT", "password_hash", "psycopg", "RuntimeError", ".py"):
        assert leak not in text
    assert body["detail"].startswith("Something failed on our side")
    # Security headers ride on errors too.
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_problem_types_are_documented_at_their_uri(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nothing"), 404, "not-found")
    doc = await client.get(str(body["type"]))
    assert doc.status_code == 200
    assert doc.json()["status"] == 404
    listing = (await client.get("/problems")).json()
    names = {item["type"] for item in listing}
    assert {"/problems/validation-error", "/problems/unsupported-media-type"} <= names
    assert_problem(await client.get("/problems/no-such-problem"), 404, "not-found")


@pytest.mark.slow
def test_a_domain_404_never_renames_the_generic_404(tmp_path: object) -> None:
    # In a served process the domains load before the handlers; a domain error sharing
    # a status (an unknown org is a 404 too) must not rename a plain unknown route.
    script = """
import asyncio, httpx
import servio.domains.identity.service  # registers org-not-found (404) first
from servio.web.app import create_app
from servio.platform.config import Settings

async def main():
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        print("TYPE=" + (await client.get("/nope")).json()["type"])
    await app.state.container.close()

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    printed = [line for line in result.stdout.splitlines() if line.startswith("TYPE=")]
    assert printed == ["TYPE=/problems/not-found"]


async def test_an_exhausted_connection_pool_is_503_not_500(settings: Settings) -> None:
    async def busy() -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")

    async with app_client(settings, raise_errors=False) as client:
        app_of(client).add_api_route("/_t/pool", busy)
        r = await client.get("/_t/pool")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["type"].endswith("/service-busy")
    assert "QueuePool" not in r.text
