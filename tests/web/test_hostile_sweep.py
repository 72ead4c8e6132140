"""Every operation of the OpenAPI document, signed in as an owner: a NUL character in
each path and query parameter and in each string field of a JSON body is refused with
422 naming that place; a date or instant at either end of the calendar in each
parameter and body field that takes one is refused with a 4xx. Nothing answers 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from servio.platform.config import Settings
from tests.conftest import make_settings
from tests.support.identity import Account, register

NUL = "a\x00b"
EXTREMES = {
    "date": ["0001-01-01", "9999-12-31"],
    "date-time": [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59",
        "2030-06-03T09:00:00",  # no offset: names no instant
    ],
}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """No rate limits: the sweep sends some five hundred requests from one address."""
    return make_settings(
        db_url,
        var_dir=tmp_path / "var",
        rate_limit_enabled=False,
        rate_limit_authenticated="100000/minute",
    )


@dataclass
class Call:
    """One request to one operation: the path and query values and the JSON body."""

    method: str
    path: str
    path_values: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any] | None
    where: str = ""  # where the hostile value is, as the 422 names it
    label: str = field(default="")

    def url(self) -> str:
        path = self.path
        for name, value in self.path_values.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an ``anyOf`` (optional fields), else the schema itself."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            return dict(branch)
    return schema


def _filler(schema: dict[str, Any]) -> str:
    schema = _plain(schema)
    if "default" in schema:
        return (
            str(schema["default"]).lower()
            if isinstance(schema["default"], bool)
            else (str(schema["default"]))
        )
    if "enum" in schema:
        return str(schema["enum"][0])
    fmt, kind = schema.get("format"), schema.get("type")
    fillers = {"uuid": str(uuid.uuid4()), "date": "2030-06-03"}
    if fmt in fillers:
        return fillers[fmt]
    if fmt == "date-time":
        return "2030-06-03T09:00:00+00:00"
    if kind == "integer":
        return str(max(int(schema.get("minimum", 1)), 60 if "maximum" not in schema else 1))
    return "true" if kind == "boolean" else "x"


def _body_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return dict(schema)


def _base(spec: dict[str, Any], path: str, method: str, org: str) -> Call:
    op = spec["paths"][path][method]
    path_values, query = {}, {}
    for param in op.get("parameters", []):
        if param["in"] == "path":
            path_values[param["name"]] = _filler(param["schema"])
        elif param["in"] == "query" and param["name"] == "org":
            query["org"] = org
        elif param["in"] == "query" and param.get("required"):
            query[param["name"]] = _filler(param["schema"])
    body_schema = _body_schema(spec, op)
    body = None
    if body_schema is not None:
        examples = body_schema.get("examples") or [{}]
        body = dict(examples[0])
    return Call(method.upper(), path, path_values, query, body)


def _calls_with_nul(spec: dict[str, Any], org: str) -> Iterator[Call]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                call = _base(spec, path, method, org)
                if param["in"] == "path":
                    call.path_values[param["name"]] = NUL
                    call.where = "path"
                elif param["in"] == "query":
                    call.query[param["name"]] = NUL
                    call.where = f"query.{param['name']}"
                else:
                    continue
                yield call
            body_schema = _body_schema(spec, op)
            for name, prop in (body_schema or {}).get("properties", {}).items():
                if _plain(prop).get("type") == "string":
                    call = _base(spec, path, method, org)
                    assert call.body is not None
                    call.body[name], call.where = NUL, f"body.{name}"
                    yield call


def _calls_with_extreme_dates(spec: dict[str, Any], org: str) -> Iterator[Call]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                for value in EXTREMES.get(_plain(param["schema"]).get("format", ""), []):
                    call = _base(spec, path, method, org)
                    target = call.path_values if param["in"] == "path" else call.query
                    target[param["name"]], call.label = value, f"{param['name']}={value}"
                    yield call
            body_schema = _body_schema(spec, op)
            for name, prop in (body_schema or {}).get("properties", {}).items():
                for value in EXTREMES.get(_plain(prop).get("format", ""), []):
                    call = _base(spec, path, method, org)
                    assert call.body is not None
                    call.body[name], call.label = value, f"{name}={value}"
                    yield call


async def _send(api: httpx.AsyncClient, owner: Account, call: Call) -> httpx.Response:
    return await api.request(
        call.method,
        call.url(),
        params=call.query,
        json=call.body,
        headers=owner.auth | {"X-CSRF-Token": "none"},
    )


async def test_a_nul_anywhere_is_refused_with_422_naming_where(api: httpx.AsyncClient) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    spec = (await api.get("/openapi.json")).json()
    calls = list(_calls_with_nul(spec, owner.org_slug))
    assert len(calls) > 150
    wrong = []
    for call in calls:
        response = await _send(api, owner, call)
        errors = response.json().get("errors") if response.status_code == 422 else None
        if errors != [
            {
                "field": call.where,
                "message": "NUL characters (U+0000) are not allowed",
                "type": "string_nul",
            }
        ]:
            wrong.append(f"{call.method} {call.path} {call.where}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_dates_at_the_ends_of_the_calendar_get_a_4xx(api: httpx.AsyncClient) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    spec = (await api.get("/openapi.json")).json()
    calls = list(_calls_with_extreme_dates(spec, owner.org_slug))
    assert len(calls) > 40
    wrong = []
    for call in calls:
        response = await _send(api, owner, call)
        if not 400 <= response.status_code < 500:
            wrong.append(f"{call.method} {call.path} {call.label}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
