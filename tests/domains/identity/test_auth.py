"""Sign-up, sign-in, refresh rotation, sessions, passwords: through the real API."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from servio.domains.identity.models import AuthSession, Membership, RefreshToken, User
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.support.app import deliver_outbox
from tests.support.identity import PASSWORD, link_token, login, mails, problem, register


async def test_register_creates_owner_of_a_new_org(api: httpx.AsyncClient, db: Database) -> None:
    r = await api.post(
        "/v1/auth/register",
        json={"email": "Ada@Example.COM", "password": PASSWORD, "org_name": "Bright Homes"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["email"] == "ada@example.com"
    assert body["org"]["slug"] == "bright-homes"
    assert body["refresh_token"].startswith("rt_")
    assert "servio_access" in r.cookies
    async with db.unit_of_work(system=True) as s:
        user = await s.scalar(select(User).where(User.email == "ada@example.com"))
        assert user is not None
        assert user.password_hash.startswith("$argon2")
        member = await s.scalar(select(Membership).where(Membership.user_id == user.id))
        assert member is not None
        assert member.role == "OWNER"
    me = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "OWNER"
    assert me.json()["org"]["slug"] == "bright-homes"
    assert "iam:manage" in me.json()["permissions"]


async def test_email_is_unique_case_insensitively_and_slugs_stay_unique(
    api: httpx.AsyncClient,
) -> None:
    first = await register(api, "lin@example.com", "Bright Homes")
    again = await api.post(
        "/v1/auth/register",
        json={"email": "LIN@example.com", "password": PASSWORD, "org_name": "Other"},
    )
    problem(again, 409, "email-taken")
    second = await register(api, "kim@example.com", "Bright Homes")
    assert first.org_slug == "bright-homes"
    assert second.org_slug.startswith("bright-homes-")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-pw-1", "length"),
        ("qwerty123456", "common"),
        ("1QAZ2WSX3EDC", "common"),
        ("my-name-is-marguerite!", "contains-email"),
    ],
)
async def test_password_policy_names_the_rule(
    api: httpx.AsyncClient, db: Database, password: str, rule: str
) -> None:
    r = await api.post(
        "/v1/auth/register",
        json={"email": "marguerite@example.com", "password": password, "org_name": "Acme"},
    )
    problem(r, 422, "weak-password")
    assert r.json()["rule"] == rule
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0


async def test_wrong_password_and_unknown_email_look_the_same(api: httpx.AsyncClient) -> None:
    await register(api, "ada@example.com", "Bright Homes")
    wrong = await api.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": "x" * 12}
    )
    unknown = await api.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12}
    )
    for r in (wrong, unknown):
        problem(r, 401, "invalid-credentials")
    assert wrong.json()["detail"] == unknown.json()["detail"]


@pytest.mark.parametrize("email", ["ada@example.com", "ghost@example.com"])
async def test_five_failures_lock_the_account_with_retry_after(
    api: httpx.AsyncClient, email: str
) -> None:
    await register(api, "ada@example.com", "Bright Homes")
    for _ in range(5):
        r = await api.post("/v1/auth/login", json={"email": email, "password": "wrong" * 3})
        assert r.status_code == 401
    locked = await api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    problem(locked, 429, "too-many-attempts")
    assert 1 <= int(locked.headers["retry-after"]) <= 60


async def test_lock_grows_and_success_resets(api: httpx.AsyncClient, db: Database) -> None:
    from servio.domains.identity.models import LoginThrottle

    await register(api, "ada@example.com", "Bright Homes")
    for _ in range(4):
        await api.post("/v1/auth/login", json={"email": "ada@example.com", "password": "w" * 12})
    await login(api, "ada@example.com")  # a success clears the count
    async with db.unit_of_work(system=True) as s:
        assert await s.get(LoginThrottle, "account:ada@example.com") is None
    for _ in range(5):
        await api.post("/v1/auth/login", json={"email": "ada@example.com", "password": "w" * 12})
    async with db.unit_of_work(system=True) as s:
        row = await s.get(LoginThrottle, "account:ada@example.com")
        assert row is not None
        assert row.locked_until is not None
        first = row.locked_until - row.window_started_at
        row.locked_until = row.window_started_at  # the first lock has passed
    await api.post("/v1/auth/login", json={"email": "ada@example.com", "password": "w" * 12})
    async with db.unit_of_work(system=True) as s:
        row = await s.get(LoginThrottle, "account:ada@example.com")
        assert row is not None
        assert row.locked_until is not None
        assert row.locked_until - row.window_started_at == first * 2


async def test_refresh_rotates_and_reuse_revokes_the_family(
    api: httpx.AsyncClient, db: Database
) -> None:
    acct = await register(api, "ada@example.com", "Bright Homes")
    r = await api.post("/v1/auth/refresh", json={"refresh_token": acct.refresh})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["refresh_token"] != acct.refresh
    api.cookies.clear()
    reused = await api.post("/v1/auth/refresh", json={"refresh_token": acct.refresh})
    problem(reused, 401, "refresh-token-reused")
    # The whole family is gone: the newest refresh token and the access token too.
    after = await api.post("/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert after.status_code == 401
    me = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 401
    async with db.unit_of_work(system=True) as s:
        session = await s.scalar(select(AuthSession).where(AuthSession.user_id == acct.user_id))
        assert session is not None
        assert session.revoked_reason == "refresh-reused"
        hashes = list(await s.scalars(select(RefreshToken.token_hash)))
    assert acct.refresh not in hashes  # stored hashed only


async def test_logout_ends_the_session(api: httpx.AsyncClient) -> None:
    acct = await register(api, "ada@example.com", "Bright Homes")
    assert (await api.post("/v1/auth/logout", headers=acct.auth)).status_code == 204
    me = await api.get("/v1/auth/me", headers=acct.auth)
    problem(me, 401, "invalid-token")
    refreshed = await api.post("/v1/auth/refresh", json={"refresh_token": acct.refresh})
    assert refreshed.status_code == 401


async def test_sessions_list_and_end_one(api: httpx.AsyncClient) -> None:
    first = await register(api, "ada@example.com", "Bright Homes")
    second = await login(api, "ada@example.com")
    other = await register(api, "bob@example.com", "Other Co")
    listed = (await api.get("/v1/auth/sessions", headers=second.auth)).json()
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1
    first_id = next(s["id"] for s in listed if not s["current"])
    other_sessions = (await api.get("/v1/auth/sessions", headers=other.auth)).json()
    foreign = await api.delete(f"/v1/auth/sessions/{other_sessions[0]['id']}", headers=second.auth)
    assert foreign.status_code == 404
    assert (await api.get("/v1/auth/me", headers=other.auth)).status_code == 200
    ended = await api.delete(f"/v1/auth/sessions/{first_id}", headers=second.auth)
    assert ended.status_code == 204
    assert (await api.get("/v1/auth/me", headers=first.auth)).status_code == 401
    assert (await api.get("/v1/auth/me", headers=second.auth)).status_code == 200


async def test_switching_org_needs_a_membership(api: httpx.AsyncClient, db: Database) -> None:
    ada = await register(api, "ada@example.com", "Bright Homes")
    bob = await register(api, "bob@example.com", "Other Co")
    refused = await api.post("/v1/auth/switch-org", json={"org": bob.org_slug}, headers=ada.auth)
    problem(refused, 403, "no-membership")
    async with db.unit_of_work(system=True) as s:
        s.add(Membership(org_id=bob.org_id, user_id=ada.user_id, role="VIEWER"))
    switched = await api.post("/v1/auth/switch-org", json={"org": bob.org_slug}, headers=ada.auth)
    assert switched.status_code == 200, switched.text
    token = switched.json()["access_token"]
    me = (await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["org"]["slug"] == bob.org_slug
    assert me["role"] == "VIEWER"
    assert (await api.get("/v1/auth/me", headers=ada.auth)).status_code == 401


async def test_password_change_ends_other_sessions(api: httpx.AsyncClient) -> None:
    first = await register(api, "ada@example.com", "Bright Homes")
    second = await login(api, "ada@example.com")
    new_password = "juniper-lantern-harbor-77"
    wrong = await api.post(
        "/v1/auth/password",
        json={"current_password": "nope" * 4, "new_password": new_password},
        headers=second.auth,
    )
    assert wrong.status_code == 401
    ok = await api.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=second.auth,
    )
    assert ok.status_code == 204
    assert (await api.get("/v1/auth/me", headers=first.auth)).status_code == 401
    assert (await api.get("/v1/auth/me", headers=second.auth)).status_code == 200
    await login(api, "ada@example.com", new_password)


async def test_password_reset_link_works_once(api: httpx.AsyncClient, settings: Settings) -> None:
    acct = await register(api, "ada@example.com", "Bright Homes")
    for address in ("ada@example.com", "nobody@example.com"):
        r = await api.post("/v1/auth/password/reset-request", json={"email": address})
        assert r.status_code == 202
    await deliver_outbox(api)
    sent = mails(settings.var_dir)
    assert [m["To"] for m in sent] == ["ada@example.com"]
    token = link_token(sent[0])
    new_password = "juniper-lantern-harbor-77"
    done = await api.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": new_password}
    )
    assert done.status_code == 204
    assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 401
    again = await api.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": new_password + "x"}
    )
    problem(again, 410, "invalid-link")
    await login(api, "ada@example.com", new_password)


async def test_cookie_session_needs_csrf_on_writes(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/v1/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD, "org_name": "Bright Homes"},
    )
    assert r.status_code == 201
    set_cookie = r.headers.get_list("set-cookie")
    access = next(c for c in set_cookie if c.startswith("servio_access="))
    assert "HttpOnly" in access
    assert "SameSite=lax" in access or "samesite=lax" in access.lower()
    assert (await api.get("/v1/auth/me")).status_code == 200  # the cookie alone reads
    no_csrf = await api.post("/v1/auth/logout")
    problem(no_csrf, 403, "csrf-failed")
    csrf = api.cookies["servio_csrf"]
    ok = await api.post("/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 204


async def test_demo_owners_can_sign_in(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    from servio.domains.identity.seed import seed_demo_logins, seed_demo_orgs

    async with db.unit_of_work(system=True) as s:
        await seed_demo_orgs(s, settings)
        assert await seed_demo_logins(s, settings) == [
            "owner@sparkle-clean.example.com",
            "owner@inkwell-tattoo.example.com",
        ]
        await seed_demo_logins(s, settings)  # idempotent
    acct = await login(
        api, "owner@sparkle-clean.example.com", settings.demo_password.get_secret_value()
    )
    assert acct.org_slug == "sparkle-clean"


async def test_unknown_session_id_is_404_not_500(api: httpx.AsyncClient) -> None:
    acct = await register(api, "ada@example.com", "Bright Homes")
    r = await api.delete(f"/v1/auth/sessions/{uuid.uuid4()}", headers=acct.auth)
    assert r.status_code == 404
    bad = await api.delete("/v1/auth/sessions/not-a-uuid", headers=acct.auth)
    assert bad.status_code == 422
