"""Hostile credentials get a precise 401 Problem, never a 500: malformed, expired,
wrong-key, ``alg: none``, oversize and truncated tokens; key rotation keeps old tokens
valid while both keys are configured."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import timedelta

import httpx
import jwt
import pytest
from sqlalchemy import event

from servio.platform.config import Settings
from servio.platform.security.tokens import KeyRing
from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.identity import login, problem, register

KEY_A = "a" * 40
KEY_B = "b" * 40


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_bad_tokens_are_refused_precisely(api: httpx.AsyncClient) -> None:
    acct = await register(api, "ada@example.com", "Bright Homes")
    claims = jwt.decode(acct.access, options={"verify_signature": False})
    header, payload, signature = acct.access.split(".")
    none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{payload}."
    other_key = jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": "k1"})
    unknown_kid = jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": "zz"})
    expired = jwt.encode(
        {**claims, "exp": claims["iat"] - 10}, "x" * 40, algorithm="HS256", headers={"kid": "k1"}
    )
    cases = {
        "garbage": ("not-a-token", "malformed"),
        "truncated": (acct.access[:-10], "malformed"),
        "alg none": (none_alg, "signature"),
        "wrong key": (other_key, "signature"),
        "unknown kid": (unknown_kid, "unknown key"),
        "expired wrong key": (expired, "signature"),
        "oversize": ("e" * 5000, "too long"),
        "tampered payload": (f"{header}.{_b64({**claims, 'org': 'x'})}.{signature}", "signature"),
        "sql": ("' OR 1=1 --", "malformed"),
    }
    for name, (token, words) in cases.items():
        r = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        detail = problem(r, 401, "invalid-token")["detail"]
        assert words in str(detail), (name, detail)
    assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 200


async def test_other_schemes_and_missing_credentials(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/auth/me")
    problem(missing, 401, "not-authenticated")
    weird = await api.get("/v1/auth/me", headers={"Authorization": "Digest abc"})
    problem(weird, 401, "invalid-token")
    basic = await api.get("/v1/auth/me", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert basic.status_code == 401  # HTTP Basic is off unless enabled in development


async def test_huge_header_and_script_in_fields(api: httpx.AsyncClient) -> None:
    r = await api.get("/v1/auth/me", headers={"Authorization": "Bearer " + "x" * 60_000})
    assert r.status_code == 401
    script = "<script>alert(1)</script>@example.com"
    bad = await api.post(
        "/v1/auth/register",
        json={"email": script, "password": "p" * 20, "org_name": "<b>x</b>'; DROP TABLE orgs;--"},
    )
    problem(bad, 422, "invalid-email")
    stored = await register(api, "ada@example.com", "'; DROP TABLE orgs;--")
    assert stored.org_slug == "drop-table-orgs"


async def test_expired_access_token_is_refused(settings: Settings) -> None:
    ring = KeyRing.from_settings([], settings.secret_key.get_secret_value())
    token = ring.issue({"sub": "x", "org": "y", "sid": "z"}, timedelta(seconds=-5), "access")
    async with app_client(settings) as api:
        r = await api.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_key_rotation_keeps_old_tokens_valid(db_url: str, db: object) -> None:
    old = make_settings(db_url, jwt_keys=[f"k2024:{KEY_A}"])
    async with app_client(old) as api:
        acct = await register(api, "ada@example.com", "Bright Homes")
        assert jwt.get_unverified_header(acct.access)["kid"] == "k2024"
    rotating = make_settings(db_url, jwt_keys=[f"k2025:{KEY_B}", f"k2024:{KEY_A}"])
    async with app_client(rotating) as api:
        assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 200
        fresh = await api.post("/v1/auth/refresh", json={"refresh_token": acct.refresh})
        assert jwt.get_unverified_header(fresh.json()["access_token"])["kid"] == "k2025"
    retired = make_settings(db_url, jwt_keys=[f"k2025:{KEY_B}"])
    async with app_client(retired) as api:
        r = await api.get("/v1/auth/me", headers=acct.auth)
        assert r.status_code == 401
        assert "unknown key" in r.json()["detail"]


def test_jwt_keys_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="kid:secret"):
        Settings(jwt_keys=["short:abc"])  # type: ignore[arg-type]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_checked_session_is_reused_briefly(db_url: str, db: object) -> None:
    settings = make_settings(db_url, principal_cache_seconds=0.5)
    async with app_client(settings) as api:
        acct = await register(api, "ada@example.com", "Bright Homes")
        other = await login(api, "ada@example.com")
        assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 200
        sid = jwt.decode(acct.access, options={"verify_signature": False})["sid"]
        ended = await api.delete(f"/v1/auth/sessions/{sid}", headers=other.auth)
        assert ended.status_code == 204
        assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 200  # cached
        await asyncio.sleep(0.6)
        assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 401


async def test_concurrent_requests_share_one_session_check(db_url: str, db: object) -> None:
    settings = make_settings(db_url, principal_cache_seconds=30, rate_limit_enabled=False)
    async with app_client(settings) as api:
        acct = await register(api, "ada@example.com", "Bright Homes")
        engine = app_of(api).state.container.db.engine.sync_engine
        checks: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if "FROM auth_sessions" in statement:
                checks.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            answers = await asyncio.gather(
                *(api.get("/v1/auth/me", headers=acct.auth) for _ in range(20))
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert {r.status_code for r in answers} == {200}
        assert {r.json()["user"]["email"] for r in answers} == {"ada@example.com"}
        assert len(checks) == 1  # one lookup served all twenty


async def test_a_cached_principal_never_outlives_its_token(db_url: str, db: object) -> None:
    settings = make_settings(db_url, principal_cache_seconds=60, access_token_ttl_seconds=60)
    async with app_client(settings) as api:
        acct = await register(api, "ada@example.com", "Bright Homes")
        authenticator = app_of(api).state.container.authenticator
        await asyncio.sleep(1.1)
        assert (await api.get("/v1/auth/me", headers=acct.auth)).status_code == 200
        until, _ = authenticator._recent[acct.access]
        assert until - time.monotonic() < 59.5  # the token ends first: the cache stops there
        bad = await api.get("/v1/auth/me", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert not authenticator._checking  # nothing left waiting
