"""API keys: shown once, stored as a digest, scoped to permissions, accepted as a bearer
token and as ``X-Admin-API-Key``, revocable and expiring."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from servio.domains.identity.models import ApiKey
from servio.domains.identity.permissions import Role, permissions_of
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.security.opaque import digest
from tests.support.identity import (
    admin_key,
    bearer,
    invite,
    key_row,
    new_key,
    problem,
    register,
)


async def test_created_key_is_shown_once_and_stored_as_a_digest(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "keys@example.com", "Keys Co")
    created = await new_key(api, owner.auth)
    key = created["key"]
    assert key.startswith(f"svk_{created['prefix']}_")
    assert len(key) > 40
    assert created["permissions"] == sorted(permissions_of(Role.OWNER))
    assert created["name"] == "Zapier"
    assert created["revoked_at"] is None
    assert created["last_used_at"] is None
    assert created["expires_at"] is None

    listed = await api.get("/v1/api-keys", headers=owner.auth)
    assert listed.status_code == 200, listed.text
    assert [k["id"] for k in listed.json()] == [created["id"]]
    assert "key" not in listed.json()[0]
    assert key not in listed.text

    row = await key_row(db, created["id"])
    assert row.org_id == owner.org_id
    assert row.created_by == owner.user_id
    assert row.key_hash == digest(key)
    assert key not in (row.key_hash, row.prefix)
    assert row.prefix == created["prefix"]
    assert row.permissions == created["permissions"]


async def test_key_works_as_bearer_and_admin_header(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "use@example.com", "Use Co")
    key = (await new_key(api, owner.auth))["key"]

    for headers in (bearer(key), admin_key(key)):
        users = await api.get("/v1/iam/users", headers=headers)
        assert users.status_code == 200, users.text
        assert [u["email"] for u in users.json()] == ["use@example.com"]
        safety = await api.get("/v1/admin/org/safety", headers=headers)
        assert safety.status_code == 200, safety.text
        assert safety.json() == {"read_only": False, "require_mfa": False}
    me = await api.get("/v1/auth/me", headers=bearer(key))
    assert me.json()["user"] is None
    assert me.json()["principal"].startswith("api_key:")
    assert me.json()["org"]["id"] == str(owner.org_id)


async def test_missing_and_wrong_keys(api: httpx.AsyncClient) -> None:
    owner = await register(api, "wrong@example.com", "Wrong Co")
    key = (await new_key(api, owner.auth))["key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    problem(await api.get("/v1/admin/org/safety"), 401, "not-authenticated")
    for bad in (forged, "not-a-key"):
        problem(
            await api.get("/v1/admin/org/safety", headers=admin_key(bad)), 403, "api-key-refused"
        )
        problem(await api.get("/v1/iam/users", headers=admin_key(bad)), 401, "invalid-api-key")
    problem(await api.get("/v1/admin/org/safety", headers=bearer(forged)), 403, "api-key-refused")
    problem(await api.get("/v1/iam/users", headers=bearer(forged)), 401, "invalid-api-key")


async def test_scoped_key_is_limited_to_its_permissions(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "scope@example.com", "Scope Co")
    created = await new_key(api, owner.auth, permissions=["bookings:read", "bookings:read"])
    assert created["permissions"] == ["bookings:read"]
    headers = bearer(created["key"])

    body = problem(await api.get("/v1/iam/users", headers=headers), 403, "forbidden")
    assert body["permission"] == "iam:manage"
    body = problem(await api.get("/v1/admin/org/safety", headers=headers), 403, "forbidden")
    assert body["permission"] == "settings:manage"
    body = problem(
        await api.post("/v1/api-keys", json={"name": "x"}, headers=headers), 403, "forbidden"
    )
    assert body["permission"] == "api_keys:manage"
    assert (await key_row(db, created["id"])).permissions == ["bookings:read"]


async def test_unknown_permission_is_422(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "typo@example.com", "Typo Co")
    r = await api.post(
        "/v1/api-keys",
        json={"name": "typo", "permissions": ["bookings:read", "bookings:delete"]},
        headers=owner.auth,
    )
    body = problem(r, 422, "invalid-permissions")
    assert body["unknown"] == ["bookings:delete"]
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(ApiKey)) == 0


async def test_a_key_never_exceeds_its_creator(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "cap@example.com", "Cap Co")
    viewer = await invite(api, owner, settings.var_dir, "viewer@example.com", "VIEWER")
    # A VIEWER holds no api_keys:manage, so cannot mint keys at all.
    body = problem(
        await api.post("/v1/api-keys", json={"name": "v"}, headers=viewer.auth), 403, "forbidden"
    )
    assert body["permission"] == "api_keys:manage"

    # A key that may manage keys is itself a creator, capped at its own permissions.
    parent = await new_key(api, owner.auth, permissions=["api_keys:manage", "bookings:read"])
    r = await api.post(
        "/v1/api-keys",
        json={"name": "child", "permissions": ["bookings:read", "iam:manage"]},
        headers=bearer(parent["key"]),
    )
    body = problem(r, 403, "key-exceeds-creator")
    assert body["permissions"] == ["iam:manage"]
    child = await new_key(api, bearer(parent["key"]), name="child")
    assert child["permissions"] == ["api_keys:manage", "bookings:read"]
    row = await key_row(db, child["id"])
    assert row.created_by is None
    assert row.org_id == owner.org_id
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(ApiKey)) == 2


async def test_revoked_key_is_refused(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "revoke@example.com", "Revoke Co")
    created = await new_key(api, owner.auth)
    assert (await api.get("/v1/iam/users", headers=bearer(created["key"]))).status_code == 200

    r = await api.delete(f"/v1/api-keys/{created['id']}", headers=owner.auth)
    assert r.status_code == 204, r.text
    assert (await key_row(db, created["id"])).revoked_at is not None
    problem(await api.get("/v1/iam/users", headers=bearer(created["key"])), 401, "invalid-api-key")
    problem(
        await api.get("/v1/admin/org/safety", headers=admin_key(created["key"])),
        403,
        "api-key-refused",
    )
    listed = (await api.get("/v1/api-keys", headers=owner.auth)).json()
    assert listed[0]["revoked_at"] is not None

    other = await register(api, "thief@example.com", "Thief Co")
    mine = await new_key(api, owner.auth)
    r = await api.delete(f"/v1/api-keys/{mine['id']}", headers=other.auth)
    problem(r, 404, "api-key-not-found")
    assert (await key_row(db, mine["id"])).revoked_at is None


async def test_expired_key_is_refused(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "expire@example.com", "Expire Co")
    created = await new_key(api, owner.auth, expires_in_days=2)
    row = await key_row(db, created["id"])
    assert row.expires_at is not None
    assert timedelta(days=2) - timedelta(minutes=1) < row.expires_at - utcnow() <= timedelta(days=2)
    assert (await api.get("/v1/iam/users", headers=bearer(created["key"]))).status_code == 200

    async with db.unit_of_work(system=True) as s:
        stored = await s.get(ApiKey, row.id)
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(seconds=1)
    problem(await api.get("/v1/iam/users", headers=bearer(created["key"])), 401, "invalid-api-key")
    problem(
        await api.get("/v1/admin/org/safety", headers=admin_key(created["key"])),
        403,
        "api-key-refused",
    )


async def test_use_sets_last_used_at(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "seen@example.com", "Seen Co")
    created = await new_key(api, owner.auth)
    assert (await key_row(db, created["id"])).last_used_at is None

    before = utcnow()
    assert (await api.get("/v1/iam/users", headers=admin_key(created["key"]))).status_code == 200
    used = (await key_row(db, created["id"])).last_used_at
    assert used is not None
    assert before - timedelta(seconds=1) <= used <= utcnow()
    listed = (await api.get("/v1/api-keys", headers=owner.auth)).json()
    assert listed[0]["last_used_at"] is not None
