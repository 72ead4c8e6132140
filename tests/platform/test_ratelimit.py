"""The rate limiter: moving window in memory or Redis, quota headers, failing open."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest

from servio.platform.config import Settings
from servio.platform.errors import PROBLEM_CATALOG
from servio.platform.logging import configure_logging
from servio.platform.ratelimit import LocalStorage, RateLimited, RateLimiter, enforce, parse_rate
from tests.support.redis import closed_port_url, require_redis, unique_prefix


def _settings(**overrides: object) -> Settings:
    return Settings(env="test", **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rate", "amount", "seconds"),
    [("20/minute", 20, 60), ("10/60 seconds", 10, 60), ("600 per hour", 600, 3600)],
)
def test_rates_are_read_as_amount_per_window(rate: str, amount: int, seconds: int) -> None:
    item = parse_rate(rate)
    assert (item.amount, item.get_expiry()) == (amount, seconds)


@pytest.mark.parametrize("rate", ["lots", "10/60", "0/minute", "10/minute;100/hour", ""])
def test_anything_but_one_rate_is_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="is not one rate such as '20/minute'"):
        parse_rate(rate)


async def test_allows_up_to_the_rate_then_refuses_with_retry_after() -> None:
    limiter = RateLimiter()
    decisions = [await limiter.hit("ip:1.2.3.4", "3/minute") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    first, refused = decisions[0], decisions[3]
    assert first.retry_after is None
    assert first.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "60",
        "RateLimit-Policy": "3;w=60",
    }
    assert refused.retry_after is not None
    assert 59 <= refused.retry_after <= 60
    assert refused.headers()["Retry-After"] == str(refused.retry_after)
    assert (await limiter.hit("ip:5.6.7.8", "3/minute")).allowed  # keys are counted apart
    await limiter.aclose()


async def test_enforce_raises_rate_limited_with_retry_after() -> None:
    limiter = RateLimiter()
    assert (await enforce(limiter, "principal:7", "1/minute")).remaining == 0
    with pytest.raises(RateLimited) as caught:
        await enforce(limiter, "principal:7", "1/minute")
    error = caught.value
    assert (error.status, error.type) == (429, "rate-limited")
    assert error.retry_after is not None
    assert error.retry_after >= 59
    assert error.headers["Retry-After"] == str(error.retry_after)
    assert error.headers["RateLimit-Remaining"] == "0"
    assert "rate-limited" in PROBLEM_CATALOG
    await limiter.aclose()


async def test_disabled_limiter_allows_everything_and_counts_nothing() -> None:
    errors: list[int] = []
    limiter = RateLimiter(enabled=False, on_store_error=lambda: errors.append(1))
    decisions = [await limiter.hit("k", "1/minute") for _ in range(3)]
    assert all(d.allowed for d in decisions)
    assert decisions[0].headers() == {}
    assert errors == []


async def test_memory_by_default_and_redis_when_configured() -> None:
    memory = RateLimiter.from_settings(_settings())
    assert not memory.shared
    shared = RateLimiter.from_settings(_settings(redis_url="redis://127.0.0.1:6379/0"))
    assert shared.shared
    await memory.aclose()
    await shared.aclose()


async def test_redis_counts_are_shared_between_limiters() -> None:
    url = require_redis()
    settings = _settings(redis_url=url, rate_limit_key_prefix=unique_prefix())
    one, two = RateLimiter.from_settings(settings), RateLimiter.from_settings(settings)
    elsewhere = _settings(redis_url=url, rate_limit_key_prefix=unique_prefix())
    other = RateLimiter.from_settings(elsewhere)
    try:
        assert (await one.hit("ip:9.9.9.9", "2/minute")).allowed
        assert (await two.hit("ip:9.9.9.9", "2/minute")).remaining == 0
        refused = await one.hit("ip:9.9.9.9", "2/minute")
        assert not refused.allowed
        assert refused.checked
        assert (await other.hit("ip:9.9.9.9", "2/minute")).allowed  # another prefix
    finally:
        for limiter in (one, two, other):
            await limiter.aclose()


async def test_unreachable_redis_fails_open_counts_and_logs() -> None:
    errors: list[int] = []
    settings = _settings(redis_url=closed_port_url())
    limiter = RateLimiter.from_settings(settings, on_store_error=lambda: errors.append(1))
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    try:
        decisions = [await limiter.hit("ip:1.1.1.1", "1/minute") for _ in range(3)]
    finally:
        configure_logging()
        await limiter.aclose()
    assert all(d.allowed and not d.checked for d in decisions)
    assert decisions[0].headers() == {}
    assert len(errors) == 3
    warnings = [json.loads(line) for line in stream.getvalue().splitlines()]
    # One warning per outage, not per request: the store rests after a failure.
    assert [(w["event"], w["level"]) for w in warnings] == [("ratelimit_store_failed", "warning")]
    assert warnings[0]["error"] == "ConnectionError"


async def test_a_silent_redis_costs_one_short_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection open until the client gives up

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RateLimiter.from_settings(_settings(redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        started = time.perf_counter()
        first = await limiter.hit("ip:2.2.2.2", "5/minute")
        first_took = time.perf_counter() - started
        started = time.perf_counter()
        second = await limiter.hit("ip:2.2.2.2", "5/minute")
        second_took = time.perf_counter() - started
    finally:
        await limiter.aclose()
        server.close()
        await server.wait_closed()
    assert first.allowed
    assert not first.checked
    assert first_took < 1.0
    assert second.allowed
    assert second_took < 0.05  # resting: Redis is not asked again


async def test_memory_store_frees_expired_hits_in_one_sweep_now_and_then() -> None:
    limiter = RateLimiter()
    storage = limiter.storage
    assert isinstance(storage, LocalStorage)
    await limiter.hit("ip:old", "5/second")
    first_sweep = storage.timer
    for n in range(20):
        await limiter.hit(f"ip:{n}", "5/second")
        await asyncio.sleep(0)
    assert storage.timer is first_sweep  # not one sweep per hit
    await asyncio.sleep(1.05)
    storage._next_sweep = 0.0  # due now
    await limiter.hit("ip:new", "5/second")
    assert storage.timer is not first_sweep
    assert storage.timer is not None
    await storage.timer
    assert set(storage.events) == {"LIMITER/ip:new/5/1/second"}
    await limiter.aclose()
