"""What every Problem+JSON answer must look like."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{name}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def error_fields(body: dict[str, object]) -> list[str]:
    """The ``field`` of each entry of a validation problem's ``errors``."""
    errors = body["errors"]
    assert isinstance(errors, list)
    return [str(e["field"]) for e in errors]
