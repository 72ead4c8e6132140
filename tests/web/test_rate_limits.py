"""Per-client-IP rate limits through the real app: groups, headers, Redis, failing open."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.problems import assert_problem
from tests.support.redis import closed_port_url, require_redis, unique_prefix
from tests.support.routes import install_probe_routes

QUOTA_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy")


def assert_quota(response: httpx.Response, limit: int, remaining: int, window: int = 60) -> None:
    headers = response.headers
    assert headers["ratelimit-limit"] == str(limit)
    assert headers["ratelimit-remaining"] == str(remaining)
    assert 0 <= int(headers["ratelimit-reset"]) <= window
    assert headers["ratelimit-policy"] == f"{limit};w={window}"


async def test_over_the_limit_is_429_problem_with_retry_after(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url, rate_limit_default="3/minute")) as client:
        for remaining in (2, 1, 0):
            allowed = await client.get("/problems/not-found")
            assert allowed.status_code == 200
            assert_quota(allowed, 3, remaining)
            assert "retry-after" not in allowed.headers
        refused = await client.get("/problems/not-found")
        body = assert_problem(refused, 429, "rate-limited")
        assert body["title"] == "Rate limit exceeded"
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert body["detail"] == (
            f"Too many requests from your address; try again in {retry_after} seconds."
        )
        assert_quota(refused, 3, 0)
        assert refused.headers["x-content-type-options"] == "nosniff"  # hardening still applies
        metrics = (await client.get("/metrics")).text
    assert 'route="<unmatched>",status="429"} 1.0' in metrics


async def test_rate_limited_is_documented_under_problems(api: httpx.AsyncClient) -> None:
    doc = await api.get("/problems/rate-limited")
    assert doc.status_code == 200
    assert doc.json()["status"] == 429
    assert "Retry-After" in doc.json()["description"]


async def test_auth_routes_are_stricter_than_the_default(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url)) as client:  # the shipped defaults
        for _ in range(20):
            response = await client.post("/v1/auth/login", json={})
            assert response.status_code != 429
        assert_quota(response, 20, 0)
        assert_problem(await client.post("/v1/auth/login", json={}), 429, "rate-limited")
        # The same address still has its default budget elsewhere.
        elsewhere = await client.get("/v1/nothing-here")
        assert_problem(elsewhere, 404, "not-found")
        assert_quota(elsewhere, 120, 119)


async def test_admin_and_action_links_allow_10_per_60_seconds(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url)) as client:
        for remaining in range(9, -1, -1):
            path = "/admin/funnel" if remaining % 2 else "/a/confirm-token"
            response = await client.get(path)
            assert response.status_code == (401 if remaining % 2 else 404)  # no key; no link
            assert_quota(response, 10, remaining)
        refused = await client.get("/admin/leads")
        assert_problem(refused, 429, "rate-limited")
        assert 50 <= int(refused.headers["retry-after"]) <= 60
        # A path that merely starts with the same letters is not in the group.
        assert_quota(await client.get("/administrator"), 120, 119)


async def test_probes_and_inbound_webhooks_are_never_limited(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url, rate_limit_default="1/minute")) as client:
        for _ in range(3):
            for path in ("/healthz", "/readyz", "/health", "/ready", "/metrics"):
                response = await client.get(path)
                assert response.status_code == 200, path
                assert not set(QUOTA_HEADERS) & set(response.headers), path
            assert (await client.post("/webhooks/whatsapp")).status_code == 401  # unsigned
            stripe = await client.post("/v1/stripe/webhook")
            assert stripe.status_code == 400  # reached and refused unsigned, never 429


async def test_each_client_address_has_its_own_budget(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, rate_limit_default="1/minute", trusted_proxies="10.0.0.5")
    async with app_client(settings, client=("10.0.0.5", 4000)) as via_proxy:
        for ip in ("203.0.113.1", "203.0.113.2"):
            first = await via_proxy.get("/v1/x", headers={"X-Forwarded-For": ip})
            assert_quota(first, 1, 0)
            again = await via_proxy.get("/v1/x", headers={"X-Forwarded-For": ip})
            assert_problem(again, 429, "rate-limited")
    async with app_client(settings, client=("198.51.100.7", 4000)) as direct:
        # Not a trusted proxy: a made-up X-Forwarded-For buys no fresh budget.
        assert_quota(await direct.get("/v1/x", headers={"X-Forwarded-For": "192.0.2.1"}), 1, 0)
        refused = await direct.get("/v1/x", headers={"X-Forwarded-For": "192.0.2.2"})
        assert_problem(refused, 429, "rate-limited")


async def test_ipv6_clients_are_counted_per_64(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, rate_limit_default="1/minute", trusted_proxies="::1")
    async with app_client(settings, client=("::1", 4000)) as client:
        first = await client.get("/v1/x", headers={"X-Forwarded-For": "2001:db8:1:2::1"})
        assert_quota(first, 1, 0)
        same_64 = await client.get("/v1/x", headers={"X-Forwarded-For": "2001:db8:1:2::ffff"})
        assert_problem(same_64, 429, "rate-limited")
        other_64 = await client.get("/v1/x", headers={"X-Forwarded-For": "2001:db8:1:3::1"})
        assert_quota(other_64, 1, 0)


async def test_per_principal_limits_answer_429_from_the_route(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url)) as client:
        install_probe_routes(app_of(client))
        ok = await client.get("/_t/per-principal/ann", params={"rate": "1/minute"})
        assert ok.json() == {"principal": "ann"}
        assert_quota(ok, 1, 0)  # the route's narrower quota, not the address's
        refused = await client.get("/_t/per-principal/ann", params={"rate": "1/minute"})
        body = assert_problem(refused, 429, "rate-limited")
        assert (
            body["detail"]
            == f"Too many requests; try again in {refused.headers['retry-after']} seconds."
        )
        assert_quota(refused, 1, 0)
        other = await client.get("/_t/per-principal/bob", params={"rate": "1/minute"})
        assert other.status_code == 200


async def test_limits_can_be_switched_off(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, rate_limit_enabled=False, rate_limit_default="1/minute")
    async with app_client(settings) as client:
        for _ in range(3):
            response = await client.get("/problems/not-found")
            assert response.status_code == 200
            assert "ratelimit-limit" not in response.headers


async def test_redis_budget_is_shared_between_app_instances(sqlite_url: str) -> None:
    url = require_redis()
    prefix = unique_prefix()
    settings = make_settings(
        sqlite_url, redis_url=url, rate_limit_key_prefix=prefix, rate_limit_default="2/minute"
    )
    async with app_client(settings) as one, app_client(settings) as two:
        assert_quota(await one.get("/problems/not-found"), 2, 1)
        assert_quota(await two.get("/problems/not-found"), 2, 0)
        assert_problem(await one.get("/problems/not-found"), 429, "rate-limited")
    redis = Redis.from_url(url)
    try:
        keys = [key.decode() async for key in redis.scan_iter(f"{prefix}:*")]
    finally:
        await redis.aclose()
    assert len(keys) == 1
    assert "127.0.0.1" in keys[0]


async def test_unreachable_redis_lets_requests_through_and_counts_them(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, redis_url=closed_port_url(), rate_limit_default="1/minute")
    async with app_client(settings) as client:
        for _ in range(3):
            response = await client.get("/problems/not-found")
            assert response.status_code == 200
            assert "ratelimit-limit" not in response.headers  # nothing was counted
        metrics = (await client.get("/metrics")).text
    assert "servio_ratelimit_errors_total 3.0" in metrics
