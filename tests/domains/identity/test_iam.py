"""Team management: invitations, roles, the owner rules, ending sessions, deactivation,
and tenant isolation of members."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from servio.domains.identity.models import AuthSession, OneTimeToken
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.security.opaque import digest
from tests.support.app import deliver_outbox
from tests.support.identity import (
    PASSWORD,
    Account,
    invite,
    link_token,
    mails,
    membership,
    problem,
    register,
)


async def members(api: httpx.AsyncClient, by: Account) -> dict[str, tuple[str, bool]]:
    r = await api.get("/v1/iam/users", headers=by.auth)
    assert r.status_code == 200, r.text
    return {m["email"]: (m["role"], m["active"]) for m in r.json()}


async def test_invite_by_email_and_accept_once(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "boss@example.com", "Invite Co")
    r = await api.post(
        "/v1/iam/users",
        json={"email": "Disp@Example.com", "role": "DISPATCHER"},
        headers=owner.auth,
    )
    assert r.status_code == 202, r.text
    assert r.json()["role"] == "DISPATCHER"
    assert r.json()["expires_in_hours"] > 0
    await deliver_outbox(api)
    sent = mails(settings.var_dir)
    assert len(sent) == 1
    assert sent[0]["To"] == "disp@example.com"
    assert "Invite Co" in sent[0]["Subject"]
    assert list((settings.var_dir / "mail").glob("*.eml"))
    token = link_token(sent[0])
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(select(OneTimeToken).where(OneTimeToken.purpose == "invite"))
    assert row is not None
    assert row.token_hash == digest(token)
    assert row.used_at is None
    assert (row.email, row.org_id, row.role) == ("disp@example.com", owner.org_id, "DISPATCHER")

    r = await api.post("/v1/auth/invites/accept", json={"token": token, "password": PASSWORD})
    api.cookies.clear()
    assert r.status_code == 200, r.text
    joined = r.json()
    assert joined["org"]["id"] == str(owner.org_id)
    assert joined["user"]["email"] == "disp@example.com"
    me = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {joined['access_token']}"})
    assert me.json()["role"] == "DISPATCHER"
    assert "iam:manage" not in me.json()["permissions"]
    assert await members(api, owner) == {
        "boss@example.com": ("OWNER", True),
        "disp@example.com": ("DISPATCHER", True),
    }

    again = await api.post("/v1/auth/invites/accept", json={"token": token, "password": PASSWORD})
    problem(again, 410, "invalid-link")
    async with db.unit_of_work(system=True) as s:
        used = await s.get(OneTimeToken, row.id)
        assert used is not None
        assert used.used_at is not None


async def test_another_orgs_member_is_not_found(api: httpx.AsyncClient, db: Database) -> None:
    mine = await register(api, "mine@example.com", "Mine Co")
    theirs = await register(api, "secret-person@example.com", "Theirs Co")
    path = f"/v1/iam/users/{theirs.user_id}"

    body = problem(await api.get(path, headers=mine.auth), 404, "member-not-found")
    assert "secret-person" not in str(body)
    assert "OWNER" not in str(body)
    problem(
        await api.patch(path, json={"role": "VIEWER"}, headers=mine.auth), 404, "member-not-found"
    )
    problem(await api.post(f"{path}/logout", headers=mine.auth), 404, "member-not-found")
    problem(await api.post(f"{path}/deactivate", headers=mine.auth), 404, "member-not-found")

    row = await membership(db, theirs, theirs.org_id)
    assert row is not None
    assert (row.role, row.active) == ("OWNER", True)
    assert (await api.get("/v1/auth/me", headers=theirs.auth)).status_code == 200
    assert "secret-person@example.com" not in (await members(api, mine))


async def test_change_role(api: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    owner = await register(api, "own@example.com", "Role Co")
    member = await invite(api, owner, settings.var_dir, "m@example.com", "DISPATCHER")

    r = await api.patch(
        f"/v1/iam/users/{member.user_id}", json={"role": "FINANCE"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["role"]) == (str(member.user_id), "FINANCE")
    row = await membership(db, member, owner.org_id)
    assert row is not None
    assert row.role == "FINANCE"
    me = (await api.get("/v1/auth/me", headers=member.auth)).json()
    assert me["role"] == "FINANCE"
    assert "finance:write" in me["permissions"]

    bad = await api.patch(
        f"/v1/iam/users/{member.user_id}", json={"role": "GOD"}, headers=owner.auth
    )
    problem(bad, 422, "validation-error")


async def test_admin_cannot_grant_or_change_owner(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "top@example.com", "Rank Co")
    admin = await invite(api, owner, settings.var_dir, "admin@example.com", "ADMIN")
    worker = await invite(api, owner, settings.var_dir, "worker@example.com", "WORKER")
    sent = len(mails(settings.var_dir))

    r = await api.patch(
        f"/v1/iam/users/{worker.user_id}", json={"role": "OWNER"}, headers=admin.auth
    )
    problem(r, 403, "owner-only")
    r = await api.patch(
        f"/v1/iam/users/{owner.user_id}", json={"role": "VIEWER"}, headers=admin.auth
    )
    problem(r, 403, "owner-only")
    problem(
        await api.post(f"/v1/iam/users/{owner.user_id}/deactivate", headers=admin.auth),
        403,
        "owner-only",
    )
    problem(
        await api.post(f"/v1/iam/users/{owner.user_id}/logout", headers=admin.auth),
        403,
        "owner-only",
    )
    r = await api.post(
        "/v1/iam/users", json={"email": "x@example.com", "role": "OWNER"}, headers=admin.auth
    )
    problem(r, 403, "owner-only")
    await deliver_outbox(api)
    assert len(mails(settings.var_dir)) == sent
    assert (await api.get("/v1/auth/me", headers=owner.auth)).status_code == 200

    r = await api.patch(
        f"/v1/iam/users/{worker.user_id}", json={"role": "VIEWER"}, headers=admin.auth
    )
    assert r.status_code == 200
    assert r.json()["role"] == "VIEWER"
    assert await members(api, owner) == {
        "top@example.com": ("OWNER", True),
        "admin@example.com": ("ADMIN", True),
        "worker@example.com": ("VIEWER", True),
    }


async def test_the_last_owner_stays(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "last@example.com", "Last Co")
    me = f"/v1/iam/users/{owner.user_id}"
    problem(await api.patch(me, json={"role": "ADMIN"}, headers=owner.auth), 409, "last-owner")
    problem(await api.post(f"{me}/deactivate", headers=owner.auth), 409, "last-owner")
    row = await membership(db, owner, owner.org_id)
    assert row is not None
    assert (row.role, row.active) == ("OWNER", True)

    heir = await invite(api, owner, settings.var_dir, "heir@example.com", "ADMIN")
    r = await api.patch(f"/v1/iam/users/{heir.user_id}", json={"role": "OWNER"}, headers=owner.auth)
    assert r.status_code == 200
    assert r.json()["role"] == "OWNER"
    r = await api.patch(me, json={"role": "ADMIN"}, headers=owner.auth)
    assert r.status_code == 200
    assert r.json()["role"] == "ADMIN"
    r = await api.post(f"/v1/iam/users/{heir.user_id}/deactivate", headers=owner.auth)
    problem(r, 403, "owner-only")
    r = await api.patch(f"/v1/iam/users/{heir.user_id}", json={"role": "VIEWER"}, headers=heir.auth)
    problem(r, 409, "last-owner")
    row = await membership(db, heir, owner.org_id)
    assert row is not None
    assert (row.role, row.active) == ("OWNER", True)


async def test_logout_ends_every_session_of_a_member(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "chief@example.com", "Logout Co")
    member = await invite(api, owner, settings.var_dir, "leaver@example.com", "DISPATCHER")
    assert (await api.get("/v1/auth/me", headers=member.auth)).status_code == 200

    r = await api.post(f"/v1/iam/users/{member.user_id}/logout", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"revoked_sessions": 1}
    problem(await api.get("/v1/auth/me", headers=member.auth), 401, "invalid-token")
    r = await api.post("/v1/auth/refresh", json={"refresh_token": member.refresh})
    problem(r, 401, "invalid-token")
    async with db.unit_of_work(system=True) as s:
        rows = list(
            await s.scalars(select(AuthSession).where(AuthSession.user_id == member.user_id))
        )
    assert [(x.revoked_at is not None, x.revoked_reason) for x in rows] == [(True, "admin-logout")]
    assert (await api.get("/v1/iam/users", headers=owner.auth)).status_code == 200


async def test_deactivated_member_cannot_sign_in(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "head@example.com", "Gone Co")
    member = await invite(api, owner, settings.var_dir, "gone@example.com", "VIEWER")

    r = await api.post(f"/v1/iam/users/{member.user_id}/deactivate", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["active"]) == ("gone@example.com", False)
    row = await membership(db, member, owner.org_id)
    assert row is not None
    assert row.active is False
    problem(await api.get("/v1/auth/me", headers=member.auth), 401, "invalid-token")
    problem(
        await api.post("/v1/auth/refresh", json={"refresh_token": member.refresh}),
        401,
        "invalid-token",
    )

    login = await api.post("/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    api.cookies.clear()
    problem(login, 403, "no-membership")
    assert "access_token" not in login.json()
    assert (await members(api, owner))["gone@example.com"] == ("VIEWER", False)
    one = await api.get(f"/v1/iam/users/{member.user_id}", headers=owner.auth)
    assert one.status_code == 200
    assert one.json()["active"] is False


async def test_a_dispatcher_cannot_manage_the_team(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "lead@example.com", "Perm Co")
    disp = await invite(api, owner, settings.var_dir, "d@example.com", "DISPATCHER")
    sent = len(mails(settings.var_dir))

    body = problem(await api.get("/v1/iam/users", headers=disp.auth), 403, "forbidden")
    assert body["permission"] == "iam:manage"
    r = await api.post(
        "/v1/iam/users", json={"email": "y@example.com", "role": "VIEWER"}, headers=disp.auth
    )
    problem(r, 403, "forbidden")
    r = await api.patch(f"/v1/iam/users/{disp.user_id}", json={"role": "ADMIN"}, headers=disp.auth)
    problem(r, 403, "forbidden")
    await deliver_outbox(api)
    assert len(mails(settings.var_dir)) == sent
    row = await membership(db, disp, owner.org_id)
    assert row is not None
    assert row.role == "DISPATCHER"
