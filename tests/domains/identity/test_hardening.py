"""Recent identity fixes, each proved through the real API on both databases: an API key
never does more than its creator may do today, wrong MFA codes count towards the
account's lockout, a break-glass token is tied to its session and role and counts each
write, and an invitation answers with the address it was sent to."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from servio.domains.identity.models import (
    ApiKey,
    BreakGlassGrant,
    LoginThrottle,
    OneTimeToken,
    User,
)
from servio.domains.identity.permissions import Role, permissions_of
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.support.app import deliver_outbox
from tests.support.identity import (
    PASSWORD,
    Account,
    admin_key,
    bearer,
    break_glass,
    enable_mfa,
    invite,
    key_row,
    login,
    mails,
    membership,
    new_key,
    problem,
    register,
    set_read_only,
    totp_code,
    wrong_code,
)

GLASS = "X-Break-Glass"
KEY_SCOPE = ["bookings:read", "finance:read", "iam:manage", "work:self"]


async def role_of(db: Database, who: Account) -> tuple[str, bool]:
    row = await membership(db, who, who.org_id)
    assert row is not None
    return row.role, row.active


async def grant_uses(db: Database, grant_id: str) -> int:
    async with db.unit_of_work(system=True) as s:
        row = await s.get(BreakGlassGrant, uuid.UUID(grant_id))
    assert row is not None
    return row.uses


async def key_names(db: Database) -> list[str]:
    async with db.unit_of_work(system=True) as s:
        return sorted(await s.scalars(select(ApiKey.name)))


# a. API keys follow their creator


async def test_a_deactivated_creators_key_is_refused(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "chief@example.com", "Keyholder Co")
    admin = await invite(api, owner, settings.var_dir, "ops@example.com", "ADMIN")
    theirs = await new_key(api, admin.auth, name="ops")
    mine = await new_key(api, owner.auth, name="chief")
    assert (await key_row(db, theirs["id"])).created_by == admin.user_id
    users = await api.get("/v1/iam/users", headers=bearer(theirs["key"]))
    assert users.status_code == 200, users.text
    assert sorted(u["email"] for u in users.json()) == ["chief@example.com", "ops@example.com"]

    r = await api.post(f"/v1/iam/users/{admin.user_id}/deactivate", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["active"]) == (str(admin.user_id), False)
    assert await role_of(db, admin) == ("ADMIN", False)

    for headers in (bearer(theirs["key"]), admin_key(theirs["key"])):
        problem(await api.get("/v1/iam/users", headers=headers), 401, "invalid-api-key")
        problem(await api.get("/v1/admin/org/safety", headers=headers), 403, "api-key-refused")
    problem(await api.get("/v1/auth/me", headers=bearer(theirs["key"])), 401, "invalid-api-key")
    row = await key_row(db, theirs["id"])
    assert (row.revoked_at, row.permissions) == (
        None,
        theirs["permissions"],
    )  # refused, not revoked

    # The owner's key is untouched: the refusal follows the creator, not the org.
    users = await api.get("/v1/iam/users", headers=bearer(mine["key"]))
    assert users.status_code == 200, users.text
    assert {u["email"]: u["active"] for u in users.json()} == {
        "chief@example.com": True,
        "ops@example.com": False,
    }
    safety = await api.get("/v1/admin/org/safety", headers=admin_key(mine["key"]))
    assert safety.status_code == 200, safety.text
    assert safety.json() == {"read_only": False, "require_mfa": False}


async def test_a_demoted_creators_key_shrinks_to_what_both_hold(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "boss@example.com", "Shrink Co")
    admin = await invite(api, owner, settings.var_dir, "lead@example.com", "ADMIN")
    created = await new_key(api, admin.auth, permissions=KEY_SCOPE)
    assert created["permissions"] == KEY_SCOPE
    key = bearer(created["key"])
    me = await api.get("/v1/auth/me", headers=key)
    assert me.status_code == 200, me.text
    assert me.json()["permissions"] == KEY_SCOPE
    assert (await api.get("/v1/iam/users", headers=key)).status_code == 200

    r = await api.patch(
        f"/v1/iam/users/{admin.user_id}", json={"role": "VIEWER"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "VIEWER"
    assert await role_of(db, admin) == ("VIEWER", True)

    body = problem(await api.get("/v1/iam/users", headers=key), 403, "forbidden")
    assert body["permission"] == "iam:manage"
    me = await api.get("/v1/auth/me", headers=key)
    assert me.status_code == 200, me.text
    both = sorted(set(KEY_SCOPE) & permissions_of(Role.VIEWER))
    assert both == ["bookings:read", "finance:read"]
    assert me.json()["permissions"] == both
    assert me.json()["principal"] == f"api_key:{created['id']}"
    row = await key_row(db, created["id"])
    assert (row.permissions, row.revoked_at) == (KEY_SCOPE, None)  # shrunk at use, not stored


# b. Wrong MFA codes count towards the account's lockout


@pytest.mark.parametrize(
    ("step", "mfa_on"), [("confirm", False), ("disable", True)], ids=["confirm", "disable"]
)
async def test_wrong_codes_to_confirm_or_disable_lock_the_account(
    api: httpx.AsyncClient, db: Database, step: str, mfa_on: bool
) -> None:
    owner = await register(api, f"{step}@example.com", f"{step.title()} Co")
    if mfa_on:
        secret, _ = await enable_mfa(api, owner)
    else:
        r = await api.post("/v1/auth/2fa/enroll", headers=owner.auth)
        assert r.status_code == 200, r.text
        secret = r.json()["secret"]
    path = f"/v1/auth/2fa/{step}"
    for _ in range(5):
        bad = await api.post(path, json={"code": wrong_code(secret)}, headers=owner.auth)
        problem(bad, 401, "invalid-mfa-code")

    locked = await api.post(path, json={"code": totp_code(secret)}, headers=owner.auth)
    body = problem(locked, 429, "too-many-attempts")
    wait = int(locked.headers["retry-after"])
    assert 1 <= wait <= 60
    assert body["retry_after"] == wait
    async with db.unit_of_work(system=True) as s:
        row = await s.get(LoginThrottle, f"account:{step}@example.com")
        assert row is not None
        assert row.failures == 5
        assert row.locked_until is not None
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert (user.mfa_enabled, user.mfa_secret) == (mfa_on, secret)  # the good code did nothing
    # The same lock holds at sign-in.
    signin = await api.post("/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    api.cookies.clear()
    problem(signin, 429, "too-many-attempts")


# c. Break-glass: counted per write, tied to its session and to a role that may use it


async def test_each_break_glass_write_is_counted_and_reads_are_not(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "freeze@example.com", "Freeze Co")
    member = await invite(api, owner, settings.var_dir, "clerk@example.com", "VIEWER")
    await set_read_only(api, owner, True)
    grant = await break_glass(api, owner.auth)
    assert await grant_uses(db, grant["id"]) == 0
    glass = owner.auth | {GLASS: grant["token"]}

    for path in ("/v1/iam/users", "/v1/admin/org/safety", "/v1/api-keys", "/v1/auth/me"):
        r = await api.get(path, headers=glass)
        assert r.status_code == 200, (path, r.text)
    assert await grant_uses(db, grant["id"]) == 0

    r = await api.post("/v1/api-keys", json={"name": "fix"}, headers=glass)
    assert r.status_code == 201, r.text
    assert await grant_uses(db, grant["id"]) == 1
    r = await api.patch(f"/v1/iam/users/{member.user_id}", json={"role": "FINANCE"}, headers=glass)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "FINANCE"
    assert await grant_uses(db, grant["id"]) == 2
    assert (await api.get("/v1/api-keys", headers=glass)).status_code == 200
    assert await grant_uses(db, grant["id"]) == 2

    # A write without the token is refused and counts nothing.
    problem(
        await api.post("/v1/api-keys", json={"name": "no"}, headers=owner.auth), 409, "read-only"
    )
    assert await grant_uses(db, grant["id"]) == 2
    assert await key_names(db) == ["fix"]
    assert await role_of(db, member) == ("FINANCE", True)


async def test_break_glass_token_belongs_to_the_session_that_started_it(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "solo@example.com", "Solo Co")
    await set_read_only(api, owner, True)
    grant = await break_glass(api, owner.auth)
    again = await login(api, owner.email)  # the same person, a second session
    assert again.user_id == owner.user_id
    assert again.access != owner.access
    assert (await api.get("/v1/auth/me", headers=again.auth)).status_code == 200

    elsewhere = again.auth | {GLASS: grant["token"]}
    write = await api.post("/v1/api-keys", json={"name": "k"}, headers=elsewhere)
    read = await api.get("/v1/auth/me", headers=elsewhere)
    for r in (write, read):
        assert "another session" in str(problem(r, 401, "invalid-token")["detail"])
    problem(
        await api.post("/v1/api-keys", json={"name": "k"}, headers=again.auth), 409, "read-only"
    )
    assert await grant_uses(db, grant["id"]) == 0
    assert await key_names(db) == []

    r = await api.post(
        "/v1/api-keys", json={"name": "k"}, headers=owner.auth | {GLASS: grant["token"]}
    )
    assert r.status_code == 201, r.text
    assert await grant_uses(db, grant["id"]) == 1
    assert await key_names(db) == ["k"]


async def test_break_glass_is_void_once_its_holder_is_demoted(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "owner@example.com", "Demote Co")
    admin = await invite(api, owner, settings.var_dir, "fixer@example.com", "ADMIN")
    await set_read_only(api, owner, True)
    grant = await break_glass(api, admin.auth)
    glass = admin.auth | {GLASS: grant["token"]}
    r = await api.post("/v1/api-keys", json={"name": "before"}, headers=glass)
    assert r.status_code == 201, r.text
    assert await grant_uses(db, grant["id"]) == 1

    await set_read_only(api, owner, False)
    r = await api.patch(
        f"/v1/iam/users/{admin.user_id}", json={"role": "DISPATCHER"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "DISPATCHER"
    await set_read_only(api, owner, True)
    assert await role_of(db, admin) == ("DISPATCHER", True)

    me = await api.get("/v1/auth/me", headers=admin.auth)  # the session itself lives on
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "DISPATCHER"
    body = problem(await api.get("/v1/auth/me", headers=glass), 401, "invalid-token")
    assert "no longer applies" in str(body["detail"])
    assert await grant_uses(db, grant["id"]) == 1
    assert await key_names(db) == ["before"]


# d. An invitation answers with the address it went to


async def test_invite_answers_with_the_normalized_address(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "host@example.com", "Case Co")
    r = await api.post(
        "/v1/iam/users",
        json={"email": "Disp@Example.COM", "role": "DISPATCHER"},
        headers=owner.auth,
    )
    assert r.status_code == 202, r.text
    assert r.json() == {
        "email": "disp@example.com",
        "role": "DISPATCHER",
        "expires_in_hours": settings.invite_ttl_hours,
    }
    await deliver_outbox(api)
    sent = mails(settings.var_dir)
    assert [m["To"] for m in sent] == ["disp@example.com"]
    assert sent[0]["To"] == r.json()["email"]
    async with db.unit_of_work(system=True) as s:
        rows = list(await s.scalars(select(OneTimeToken).where(OneTimeToken.purpose == "invite")))
    assert [(t.email, t.org_id, t.role) for t in rows] == [
        ("disp@example.com", owner.org_id, "DISPATCHER")
    ]
