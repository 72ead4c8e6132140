"""Maintenance mode: 503 with Retry-After, except probes, webhooks and operators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Request
from starlette.types import Scope

from servio.platform.http.maintenance import operator_token_check
from servio.platform.http.middleware import header
from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.problems import assert_problem

OPERATOR = {"Authorization": "Bearer operator-credential"}


async def _operator(scope: Scope) -> bool:
    return header(scope, b"authorization") == OPERATOR["Authorization"]


@asynccontextmanager
async def _maintenance(sqlite_url: str, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(sqlite_url, maintenance_mode=True, **overrides)
    async with app_client(settings, is_operator=_operator) as client:
        received: list[bytes] = []

        async def record_event(request: Request) -> dict[str, bool]:
            received.append(await request.body())
            return {"received": True}

        app_of(client).add_api_route("/webhooks/_t/provider", record_event, methods=["POST"])
        client.received = received  # type: ignore[attr-defined]
        yield client


async def test_every_route_answers_503_with_retry_after(sqlite_url: str) -> None:
    async with _maintenance(sqlite_url, maintenance_retry_after=120) as client:
        for method, path in (("GET", "/problems"), ("POST", "/v1/auth/login"), ("GET", "/docs")):
            response = await client.request(method, path)
            body = assert_problem(response, 503, "maintenance")
            assert body["title"] == "Down for maintenance"
            assert body["detail"] == "Down for maintenance; try again in 120 seconds."
            assert response.headers["retry-after"] == "120"
            assert response.headers["x-content-type-options"] == "nosniff"
        metrics = (await client.get("/metrics")).text
    assert 'method="GET",route="<unmatched>",status="503"} 2.0' in metrics
    assert 'method="POST",route="<unmatched>",status="503"} 1.0' in metrics


async def test_probes_and_metrics_still_answer(sqlite_url: str) -> None:
    async with _maintenance(sqlite_url) as client:
        for path in ("/healthz", "/readyz", "/health", "/ready", "/metrics"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "retry-after" not in response.headers


async def test_inbound_webhooks_pass_and_are_recorded(sqlite_url: str) -> None:
    async with _maintenance(sqlite_url) as client:
        response = await client.post("/webhooks/_t/provider", content=b'{"id": "evt_1"}')
        assert response.status_code == 200
        assert response.json() == {"received": True}
        assert client.received == [b'{"id": "evt_1"}']  # type: ignore[attr-defined]
        # WhatsApp's and Stripe's routes are reached too (they refuse the unsigned
        # body themselves, not with 503).
        whatsapp = await client.post("/webhooks/whatsapp", content=b'{"id": "evt_1"}')
        assert_problem(whatsapp, 401, "invalid-webhook-signature")
        stripe = await client.post("/v1/stripe/webhook", content=b"{}")
        assert_problem(stripe, 400, "invalid-signature")


async def test_platform_operators_pass(sqlite_url: str) -> None:
    async with _maintenance(sqlite_url) as client:
        doc = await client.get("/problems/maintenance", headers=OPERATOR)
        assert doc.status_code == 200
        assert doc.json()["status"] == 503
        denied = await client.get("/problems/maintenance", headers={"Authorization": "Bearer x"})
        assert_problem(denied, 503, "maintenance")


async def test_an_operator_token_header_passes(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, maintenance_mode=True)
    check = operator_token_check("op-token-0123456789")
    async with app_client(settings, is_operator=check) as client:
        passed = await client.get("/problems", headers={"X-Operator-Token": "op-token-0123456789"})
        assert passed.status_code == 200
        for wrong in ({"X-Operator-Token": "op-token-012345678"}, {}):
            assert_problem(await client.get("/problems", headers=wrong), 503, "maintenance")
    async with app_client(settings, is_operator=operator_token_check(None)) as client:
        assert_problem(await client.get("/problems"), 503, "maintenance")


async def test_off_by_default(api: httpx.AsyncClient) -> None:
    response = await api.get("/problems/maintenance")
    assert response.status_code == 200
    assert "Retry-After" in response.json()["description"]
