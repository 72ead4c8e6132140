"""Cross-tenant safety, generically: every ``/v1`` route that takes an id is walked with
org A's owner credentials against each of org B's ids. Each answer is a 404 (or 403)
that names nothing of B, and B's data is unchanged. New routes are covered as they are
registered; a route whose body has no example fails here until it gets one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import func, select, text

from servio.domains.identity.models import AuthSession, Membership, User
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.db.base import TENANT_TABLES
from tests.conftest import make_settings
from tests.support.app import app_of
from tests.support.identity import Account, register

PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _example_body(route: APIRoute) -> dict[str, Any] | None:
    if route.body_field is None:
        return None
    model = route.body_field.field_info.annotation
    if not isinstance(model, type):  # Model | None: the optional body's model
        model = next(a for a in get_args(model) if isinstance(a, type) and a is not type(None))
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    assert examples, f"{route.path}: {model.__name__} needs an example (json_schema_extra)"
    assert isinstance(examples, list)
    example = examples[0]
    assert isinstance(example, dict)
    return example


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The walk sends every id to every id route, more than one client's default budget."""
    return make_settings(db_url, var_dir=tmp_path / "var", rate_limit_default="10000/minute")


async def _org_b(api: httpx.AsyncClient, db: Database) -> tuple[Account, dict[str, str]]:
    b = await register(api, "boss@org-b.example.com", "Org B")
    key = await api.post("/v1/api-keys", json={"name": "b-key"}, headers=b.auth)
    assert key.status_code == 201
    async with db.unit_of_work(system=True) as s:
        staff = User(email="staff@org-b.example.com", password_hash="x")
        s.add(staff)
        await s.flush()
        s.add(Membership(org_id=b.org_id, user_id=staff.id, role="DISPATCHER"))
        session_id = await s.scalar(select(AuthSession.id).where(AuthSession.user_id == b.user_id))
    ids = {
        "owner": str(b.user_id),
        "staff": str(staff.id),
        "org": str(b.org_id),
        "api_key": key.json()["id"],
        "session": str(session_id),
    }
    return b, ids


def _id_routes(api: httpx.AsyncClient) -> list[tuple[str, str, APIRoute]]:
    found: list[tuple[str, str, APIRoute]] = []
    for context in iter_route_contexts(app_of(api).routes):
        route, path = context.original_route, context.path or ""
        if isinstance(route, APIRoute) and path.startswith("/v1") and PARAM.search(path):
            found.extend((method, path, route) for method in sorted(route.methods or ()))
    return found


async def test_org_a_reaches_nothing_of_org_b_through_any_id_route(
    api: httpx.AsyncClient, db: Database
) -> None:
    a = await register(api, "boss@org-a.example.com", "Org A")
    b, b_ids = await _org_b(api, db)
    routes = _id_routes(api)
    assert len(routes) >= 6, routes  # iam users, sessions, api keys … are all walked
    secrets = [*b_ids.values(), b.email, "staff@org-b.example.com", b.org_slug]
    for method, path, route in routes:
        for name, value in b_ids.items():
            url = PARAM.sub(value, path)
            r = await api.request(method, url, json=_example_body(route), headers=a.auth)
            assert r.status_code in (403, 404), (method, url, name, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            told = {k: v for k, v in r.json().items() if k != "instance"}  # instance = our URL
            leaked = [s for s in secrets if s in str(told)]
            assert not leaked, (method, url, leaked)
    # B is untouched: its owner is still signed in, its key works, its staff still active.
    assert (await api.get("/v1/auth/me", headers=b.auth)).status_code == 200
    members = (await api.get("/v1/iam/users", headers=b.auth)).json()
    assert {(m["email"], m["active"]) for m in members} == {
        (b.email, True),
        ("staff@org-b.example.com", True),
    }
    keys = (await api.get("/v1/api-keys", headers=b.auth)).json()
    assert [k["revoked_at"] for k in keys] == [None]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_every_tenant_table_hides_other_orgs_rows(
    db: Database, api: httpx.AsyncClient
) -> None:
    pg_db = db
    a = await register(api, "boss@org-a.example.com", "Org A")
    await api.post("/v1/api-keys", json={"name": "a-key"}, headers=a.auth)
    await _org_b(api, pg_db)
    assert {"memberships", "api_keys", "org_settings", "break_glass_grants"} <= TENANT_TABLES
    for table in sorted(TENANT_TABLES):
        async with pg_db.unit_of_work(a.org_id) as s:
            visible = await s.scalar(text(f"SELECT count(*) FROM {table}"))
            others = await s.scalar(
                text(f"SELECT count(*) FROM {table} WHERE org_id <> :a"),
                {"a": a.org_id},
            )
        async with pg_db.unit_of_work(system=True) as s:
            own = await s.scalar(
                text(f"SELECT count(*) FROM {table} WHERE org_id = :a"),
                {"a": a.org_id},
            )
        assert others == 0, table
        assert visible == own, table
    async with pg_db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(Membership)) == 3


def test_walker_covers_id_routes_without_guessing(api: httpx.AsyncClient) -> None:
    paths = {path for _, path, _ in _id_routes(api)}
    assert "/v1/iam/users/{user_id}" in paths
    assert "/v1/api-keys/{key_id}" in paths
    assert "/v1/auth/sessions/{session_id}" in paths
