"""Security events and admin writes land in the audit log, readable per org through
GET /v1/admin/audit with filters and cursor pagination, and the chain verifies."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from servio.platform.audit import AuditEvent
from servio.platform.audit.verification import verify
from servio.platform.db import Database
from tests.support.identity import PASSWORD, login, register


async def _actions(api: httpx.AsyncClient, auth: dict[str, str], **params: str) -> list[str]:
    r = await api.get("/v1/admin/audit", params=params, headers=auth)
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]


async def test_security_events_and_admin_writes_are_audited(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    wrong = await api.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": "w" * 12}
    )
    assert wrong.status_code == 401
    owner = await login(api, "ada@example.com")
    key = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=owner.auth)
    assert key.status_code == 201
    on = await api.patch("/v1/admin/org/safety", json={"read_only": True}, headers=owner.auth)
    assert on.status_code == 200
    grant = await api.post(
        "/v1/admin/break-glass/start",
        json={"reason": "Fix a wrong booking during the freeze", "ttl_minutes": 10},
        headers=owner.auth,
    )
    token = grant.json()["token"]
    used = await api.delete(
        f"/v1/api-keys/{key.json()['id']}", headers=owner.auth | {"X-Break-Glass": token}
    )
    assert used.status_code == 204

    actions = await _actions(api, owner.auth)
    assert actions == [
        "api_key.revoked",
        "break_glass.used",
        "break_glass.started",
        "org.safety.changed",
        "api_key.created",
        "auth.login",
        "auth.registered",
    ]
    body = (await api.get("/v1/admin/audit", headers=owner.auth)).json()["items"]
    safety = next(e for e in body if e["action"] == "org.safety.changed")
    assert safety["before"]["read_only"] is False
    assert safety["after"]["read_only"] is True
    assert safety["actor"] == f"user:{owner.user_id}"
    assert safety["ip"] == "127.0.0.1"
    assert await _actions(api, owner.auth, action="break_glass.*") == [
        "break_glass.used",
        "break_glass.started",
    ]

    async with db.unit_of_work(system=True) as s:
        failed = list(
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login.failed"))
        )
    assert len(failed) == 1
    assert failed[0].org_id is None  # a deployment-level event
    assert "ada@example.com" not in failed[0].target  # redacted
    result = await verify(db)
    assert result.ok
    assert result.events == 8


async def test_audit_is_per_org_paged_and_needs_the_permission(api: httpx.AsyncClient) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    other = await register(api, "bob@example.com", "Other Co")
    for n in range(3):
        r = await api.post("/v1/api-keys", json={"name": f"k{n}"}, headers=owner.auth)
        assert r.status_code == 201
    assert await _actions(api, other.auth) == ["auth.registered"]
    first = (await api.get("/v1/admin/audit", params={"limit": 2}, headers=owner.auth)).json()
    assert len(first["items"]) == 2
    rest = await api.get(
        "/v1/admin/audit", params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.auth
    )
    assert [e["action"] for e in rest.json()["items"]] == ["api_key.created", "auth.registered"]
    assert rest.json()["next_cursor"] is None
    bad = await api.get("/v1/admin/audit", params={"cursor": "nonsense"}, headers=owner.auth)
    assert bad.status_code == 400
    assert bad.json()["type"].endswith("/invalid-audit-cursor")
    await api.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "juniper-lantern-harbor-77"},
        headers=owner.auth,
    )
    assert await _actions(api, owner.auth, action="auth.*") == [
        "auth.password.changed",
        "auth.registered",
    ]
