"""Two-factor sign-in with TOTP: enrollment, the login step, replay, recovery codes,
lockout, disabling, and an org that requires MFA."""

from __future__ import annotations

import httpx
import pyotp
from sqlalchemy import func, select

from servio.domains.identity.models import AuthSession, LoginThrottle, RecoveryCode, User
from servio.platform.db import Database, utcnow
from servio.platform.security.opaque import digest
from tests.support.identity import (
    PASSWORD,
    Account,
    enable_mfa,
    problem,
    register,
    totp_code,
    wrong_code,
)


async def mfa_token(api: httpx.AsyncClient, who: Account) -> str:
    r = await api.post("/v1/auth/login", json={"email": who.email, "password": PASSWORD})
    body = problem(r, 401, "mfa-required")
    assert "access_token" not in body
    assert "set-cookie" not in r.headers
    return str(body["mfa_token"])


async def verify(api: httpx.AsyncClient, token: str, value: str) -> httpx.Response:
    r = await api.post("/v1/auth/2fa/verify", json={"mfa_token": token, "code": value})
    api.cookies.clear()
    return r


async def sessions_of(db: Database, who: Account) -> int:
    async with db.unit_of_work(system=True) as s:
        q = select(func.count()).select_from(AuthSession).where(AuthSession.user_id == who.user_id)
        return int(await s.scalar(q) or 0)


async def test_enroll_confirm_stores_secret_and_hashed_recovery_codes(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "mfa@example.com", "Mfa Co")
    r = await api.post("/v1/auth/2fa/enroll", headers=owner.auth)
    assert r.status_code == 200, r.text
    got = r.json()
    secret = got["secret"]
    assert len(secret) >= 16
    assert pyotp.TOTP(secret).now().isdigit()
    assert got["otpauth_uri"].startswith("otpauth://totp/Servio:mfa%40example.com?")
    assert f"secret={secret}" in got["otpauth_uri"]
    assert "issuer=Servio" in got["otpauth_uri"]
    assert got["qr_svg"].lstrip().startswith("<svg")
    assert got["qr_svg"].rstrip().endswith("</svg>")
    async with db.unit_of_work(system=True) as s:
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert (user.mfa_secret, user.mfa_enabled) == (secret, False)

    bad = await api.post(
        "/v1/auth/2fa/confirm", json={"code": wrong_code(secret)}, headers=owner.auth
    )
    problem(bad, 401, "invalid-mfa-code")
    r = await api.post("/v1/auth/2fa/confirm", json={"code": totp_code(secret)}, headers=owner.auth)
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10

    async with db.unit_of_work(system=True) as s:
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert user.mfa_enabled is True
        stored = list(
            await s.scalars(
                select(RecoveryCode.code_hash).where(RecoveryCode.user_id == owner.user_id)
            )
        )
    assert sorted(stored) == sorted(digest(c) for c in codes)
    assert not set(stored) & set(codes)

    again = await api.post("/v1/auth/2fa/enroll", headers=owner.auth)
    problem(again, 409, "mfa-already-enabled")
    me = await api.get("/v1/auth/me", headers=owner.auth)
    assert me.json()["mfa_enabled"] is True


async def test_login_needs_a_fresh_code_and_refuses_replay(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "step@example.com", "Step Co")
    secret, _ = await enable_mfa(api, owner)
    before = await sessions_of(db, owner)

    token = await mfa_token(api, owner)
    assert await sessions_of(db, owner) == before  # no session until the second step
    now = totp_code(secret)
    r = await verify(api, token, now)
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["token_type"] == "bearer"
    assert pair["user"]["email"] == "step@example.com"
    assert await sessions_of(db, owner) == before + 1
    me = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["id"] == str(owner.user_id)

    replay = await verify(api, await mfa_token(api, owner), now)
    problem(replay, 401, "invalid-mfa-code")
    async with db.unit_of_work(system=True) as s:
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert user.mfa_last_step is not None
        assert user.mfa_last_step >= int(utcnow().timestamp() // 30) - 1
    assert await sessions_of(db, owner) == before + 1

    later = await verify(api, await mfa_token(api, owner), totp_code(secret, 1))
    assert later.status_code == 200, later.text

    forged = await verify(api, pair["access_token"], totp_code(secret, 1))
    problem(forged, 401, "invalid-token")


async def test_recovery_code_works_once(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "rescue@example.com", "Rescue Co")
    _, codes = await enable_mfa(api, owner)

    r = await verify(api, await mfa_token(api, owner), codes[3].upper())
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]
    async with db.unit_of_work(system=True) as s:
        used = list(
            await s.scalars(
                select(RecoveryCode.code_hash).where(
                    RecoveryCode.user_id == owner.user_id, RecoveryCode.used_at.is_not(None)
                )
            )
        )
    assert used == [digest(codes[3])]

    again = await verify(api, await mfa_token(api, owner), codes[3])
    problem(again, 401, "invalid-mfa-code")
    other = await verify(api, await mfa_token(api, owner), codes[4])
    assert other.status_code == 200, other.text


async def test_wrong_codes_lock_the_account(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "guess@example.com", "Guess Co")
    secret, _ = await enable_mfa(api, owner)
    token = await mfa_token(api, owner)
    for _ in range(5):
        problem(await verify(api, token, wrong_code(secret)), 401, "invalid-mfa-code")

    locked = await verify(api, token, totp_code(secret))
    body = problem(locked, 429, "too-many-attempts")
    wait = int(locked.headers["retry-after"])
    assert 1 <= wait <= 60
    assert body["retry_after"] == wait
    async with db.unit_of_work(system=True) as s:
        row = await s.get(LoginThrottle, "account:guess@example.com")
        assert row is not None
        assert row.failures >= 5
        assert row.locked_until is not None
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert user.mfa_last_step is not None
        assert user.mfa_last_step < int(utcnow().timestamp() // 30)  # the good code was not spent


async def test_disable_needs_a_current_code(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "off@example.com", "Off Co")
    secret, codes = await enable_mfa(api, owner)

    bad = await api.post(
        "/v1/auth/2fa/disable", json={"code": wrong_code(secret)}, headers=owner.auth
    )
    problem(bad, 401, "invalid-mfa-code")
    async with db.unit_of_work(system=True) as s:
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert user.mfa_enabled is True
        assert user.mfa_secret == secret

    r = await api.post("/v1/auth/2fa/disable", json={"code": totp_code(secret)}, headers=owner.auth)
    assert r.status_code == 204, r.text
    async with db.unit_of_work(system=True) as s:
        user = await s.get(User, owner.user_id)
        assert user is not None
        assert (user.mfa_enabled, user.mfa_secret, user.mfa_last_step) == (False, None, None)
        left = await s.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == owner.user_id)
        )
    assert left == 0

    login = await api.post("/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    api.cookies.clear()
    assert login.status_code == 200
    assert login.json()["access_token"]
    off = await api.post("/v1/auth/2fa/disable", json={"code": codes[0]}, headers=owner.auth)
    problem(off, 409, "mfa-not-enrolled")


async def test_org_requiring_mfa_blocks_an_owner_until_enrolled(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "strict@example.com", "Strict Co")
    assert (await api.get("/v1/iam/users", headers=owner.auth)).status_code == 200
    r = await api.patch("/v1/admin/org/safety", json={"require_mfa": True}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"read_only": False, "require_mfa": True}

    blocked = await api.get("/v1/iam/users", headers=owner.auth)
    problem(blocked, 403, "mfa-enrollment-required")
    problem(await api.get("/v1/api-keys", headers=owner.auth), 403, "mfa-enrollment-required")
    me = await api.get("/v1/auth/me", headers=owner.auth)
    assert me.status_code == 200, me.text
    assert me.json()["mfa_enrollment_required"] is True
    assert me.json()["role"] == "OWNER"

    secret, _ = await enable_mfa(api, owner)  # enroll and confirm still work
    members = await api.get("/v1/iam/users", headers=owner.auth)
    assert members.status_code == 200, members.text
    assert [(m["email"], m["mfa_enabled"]) for m in members.json()] == [(owner.email, True)]
    me = await api.get("/v1/auth/me", headers=owner.auth)
    assert me.json()["mfa_enrollment_required"] is False
    assert secret
