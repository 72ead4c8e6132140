"""Org safety switches: read-only mode, break-glass grants that write through it, and
the development-only HTTP Basic admin."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from servio.domains.identity.models import ApiKey, BreakGlassGrant, Membership, Org
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from tests.support.app import app_client
from tests.support.identity import (
    BREAK_GLASS_REASON,
    break_glass,
    invite,
    problem,
    register,
    set_read_only,
)


async def org_read_only(db: Database, org_id: uuid.UUID) -> bool:
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, org_id)
    assert org is not None
    return org.read_only


async def key_count(db: Database) -> int:
    async with db.unit_of_work(system=True) as s:
        return int(await s.scalar(select(func.count()).select_from(ApiKey)) or 0)


async def test_read_only_refuses_writes_and_break_glass_writes_through(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "calm@example.com", "Calm Co")
    viewer = await invite(api, owner, settings.var_dir, "v@example.com", "VIEWER")
    await set_read_only(api, owner, True)
    assert await org_read_only(db, owner.org_id) is True

    problem(
        await api.post("/v1/api-keys", json={"name": "k"}, headers=owner.auth), 409, "read-only"
    )
    r = await api.patch(
        f"/v1/iam/users/{viewer.user_id}", json={"role": "FINANCE"}, headers=owner.auth
    )
    problem(r, 409, "read-only")
    assert await key_count(db) == 0
    members = await api.get("/v1/iam/users", headers=owner.auth)
    assert members.status_code == 200
    assert {m["email"]: m["role"] for m in members.json()}["v@example.com"] == "VIEWER"
    assert (await api.get("/v1/admin/org/safety", headers=owner.auth)).json()["read_only"] is True

    before = utcnow()
    grant = await break_glass(api, owner.auth, ttl=20)
    assert grant["header"] == "X-Break-Glass"
    assert grant["token"]
    async with db.unit_of_work(system=True) as s:
        row = await s.get(BreakGlassGrant, uuid.UUID(grant["id"]))
    assert row is not None
    assert (row.user_id, row.org_id, row.reason) == (
        owner.user_id,
        owner.org_id,
        BREAK_GLASS_REASON,
    )
    assert timedelta(minutes=19) < row.expires_at - before <= timedelta(minutes=20, seconds=5)

    glass = owner.auth | {"X-Break-Glass": grant["token"]}
    r = await api.post("/v1/api-keys", json={"name": "k"}, headers=glass)
    assert r.status_code == 201, r.text
    r = await api.patch(f"/v1/iam/users/{viewer.user_id}", json={"role": "FINANCE"}, headers=glass)
    assert r.status_code == 200
    assert r.json()["role"] == "FINANCE"
    assert await key_count(db) == 1
    assert await org_read_only(db, owner.org_id) is True
    problem(
        await api.post("/v1/api-keys", json={"name": "k2"}, headers=owner.auth), 409, "read-only"
    )

    await set_read_only(api, owner, False)  # without break-glass
    assert await org_read_only(db, owner.org_id) is False
    r = await api.post("/v1/api-keys", json={"name": "after"}, headers=owner.auth)
    assert r.status_code == 201, r.text
    assert await key_count(db) == 2


async def test_break_glass_belongs_to_one_person(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "first@example.com", "Glass Co")
    admin = await invite(api, owner, settings.var_dir, "second@example.com", "ADMIN")
    viewer = await invite(api, owner, settings.var_dir, "nobody@example.com", "VIEWER")
    stranger = await register(api, "stranger@example.com", "Other Co")
    await set_read_only(api, owner, True)
    grant = await break_glass(api, owner.auth)

    for who in (admin.auth, stranger.auth):
        r = await api.post(
            "/v1/api-keys", json={"name": "k"}, headers=who | {"X-Break-Glass": grant["token"]}
        )
        problem(r, 401, "invalid-token")
    r = await api.post(
        "/v1/api-keys", json={"name": "k"}, headers=owner.auth | {"X-Break-Glass": "forged"}
    )
    problem(r, 401, "invalid-token")
    r = await api.post(
        "/v1/api-keys", json={"name": "k"}, headers=owner.auth | {"X-Break-Glass": owner.access}
    )
    problem(r, 401, "invalid-token")
    assert await key_count(db) == 0

    r = await api.post(
        "/v1/admin/break-glass/start",
        json={"reason": BREAK_GLASS_REASON},
        headers=viewer.auth,
    )
    assert problem(r, 403, "forbidden")["permission"] == "break_glass:use"
    async with db.unit_of_work(system=True) as s:
        grants = list(await s.scalars(select(BreakGlassGrant.user_id)))
    assert grants == [owner.user_id]


async def test_expired_break_glass_grant_is_refused(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "late@example.com", "Late Co")
    await set_read_only(api, owner, True)
    grant = await break_glass(api, owner.auth)
    async with db.unit_of_work(system=True) as s:
        row = await s.get(BreakGlassGrant, uuid.UUID(grant["id"]))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)

    r = await api.post(
        "/v1/api-keys", json={"name": "k"}, headers=owner.auth | {"X-Break-Glass": grant["token"]}
    )
    problem(r, 401, "invalid-token")
    assert await key_count(db) == 0


async def test_api_keys_cannot_start_break_glass(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "robot@example.com", "Robot Co")
    r = await api.post("/v1/api-keys", json={"name": "ops"}, headers=owner.auth)
    key = r.json()["key"]
    await set_read_only(api, owner, True)
    r = await api.post(
        "/v1/admin/break-glass/start",
        json={"reason": BREAK_GLASS_REASON},
        headers={"X-Admin-API-Key": key},
    )
    problem(r, 403, "break-glass-needs-user")
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(BreakGlassGrant)) == 0


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def basic_settings(db_url: str, var: Path, slug: str, enabled: bool) -> Settings:
    return Settings(
        env="test",
        database_url=db_url,
        var_dir=var,
        basic_admin_enabled=enabled,
        basic_admin_password="open-sesame-local-only",
        default_org=slug,
    )


async def test_basic_admin_in_development_only(
    api: httpx.AsyncClient, db: Database, db_url: str, tmp_path: Path
) -> None:
    owner = await register(api, "seed@example.com", "Seed Co")
    good = basic("admin", "open-sesame-local-only")

    async with app_client(
        basic_settings(db_url, tmp_path / "on", owner.org_slug, True), raise_errors=False
    ) as on:
        r = await on.get("/v1/auth/me", headers=good)
        assert r.status_code == 200, r.text
        me = r.json()
        assert me["org"]["slug"] == owner.org_slug
        assert me["role"] == "ADMIN"
        assert me["principal"] == f"basic_admin:{owner.org_id}"
        assert me["user"] is None
        assert "iam:manage" in me["permissions"]
        users = await on.get("/v1/iam/users", headers=good)
        assert [u["email"] for u in users.json()] == ["seed@example.com"]
        problem(await on.get("/v1/auth/me", headers=basic("admin", "wrong")), 401, "invalid-token")
        problem(
            await on.get("/v1/auth/me", headers=basic("root", "open-sesame-local-only")),
            401,
            "invalid-token",
        )

    async with app_client(
        basic_settings(db_url, tmp_path / "off", owner.org_slug, False), raise_errors=False
    ) as off:
        problem(await off.get("/v1/auth/me", headers=good), 401, "not-authenticated")
        problem(await off.get("/v1/iam/users", headers=good), 401, "not-authenticated")
    problem(await api.get("/v1/auth/me", headers=good), 401, "not-authenticated")
    async with db.unit_of_work(system=True) as s:
        roles = list(await s.scalars(select(Membership.role)))
    assert roles == ["OWNER"]


def test_basic_admin_is_refused_in_production(tmp_path: Path) -> None:
    prod: dict[str, object] = {
        "env": "prod",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        "secret_key": "k" * 48,
        "metrics_token": "m3tr1cs-9f2c7a1e5b",
        "client_portal_secret": "c" * 40,
        "basic_admin_password": "open-sesame-local-only",
        "default_org": "seed-co",
    }
    assert Settings(**prod).basic_admin_enabled is False  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="SERVIO_BASIC_ADMIN_ENABLED") as refused:
        Settings(**prod, basic_admin_enabled=True)  # type: ignore[arg-type]
    assert "SERVIO_SECRET_KEY" not in str(refused.value)
