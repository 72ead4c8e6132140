"""The request's unit of work commits once on success, rolls back on error, and a
failed commit is a 500 (the client is never told a lost write succeeded)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.routes import install_probe_routes


@pytest.fixture
def client(api: httpx.AsyncClient) -> httpx.AsyncClient:
    install_probe_routes(api.app)  # type: ignore[attr-defined]
    return api


async def test_success_commits(client: httpx.AsyncClient) -> None:
    created = await client.post("/_t/orgs", json={"slug": "kept-org"})
    assert created.status_code == 200
    assert (await client.get("/_t/orgs")).json() == ["kept-org"]


async def test_error_after_a_write_rolls_it_back(client: httpx.AsyncClient) -> None:
    response = await client.post("/_t/orgs", json={"slug": "lost-org", "fail_after_write": True})
    assert response.status_code == 500
    assert (await client.get("/_t/orgs")).json() == []


async def test_a_commit_that_fails_answers_500_not_200(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_t/orgs", json={"slug": "taken"})).status_code == 200
    response = await client.post("/_t/orgs-late-conflict", json={"slug": "taken"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "IntegrityError" not in response.text
    assert "UNIQUE" not in response.text.upper()
    assert (await client.get("/_t/orgs")).json() == ["taken"]
