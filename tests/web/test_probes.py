"""Liveness, readiness (database, migrations, Redis, workers), seed 004's aliases, metrics."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete, make_url

from servio.domains.identity import service as identity
from servio.platform.db import Database
from servio.platform.worker import Worker, WorkerHeartbeat, WorkRegistry
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.orgs import add_org
from tests.support.tcp_proxy import TcpProxy


async def test_healthz_is_alive(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_each_check(api: httpx.AsyncClient, db: Database) -> None:
    body = (await api.get("/readyz")).json()
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["migrations"]["status"] == "ok"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    # No worker has heartbeated: degraded, still 200.
    assert body["status"] == "degraded"
    assert body["checks"]["workers"] == {"status": "degraded", "fresh": 0}

    await Worker(db, WorkRegistry()).run(once=True)
    response = await api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["workers"] == {"status": "ok", "fresh": 1}


async def test_seed_004_health_and_ready_shapes(api: httpx.AsyncClient, db: Database) -> None:
    health = (await api.get("/health")).json()
    assert health["ok"] is True
    assert health["templates_configured"] == []  # no business named
    assert health["features"]["stripe"] is False
    assert (await api.get("/ready")).json() == {"ok": True, "database": "connected"}
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "inkwell-tattoo", vertical="tattoo")
        templates = {
            "follow_up": {"name": "consult_follow_up", "language": "en"},
            "deposit": {"name": "deposit_link", "language": "en"},
        }
        await identity.put_setting(s, org.id, "whatsapp.templates", templates)
    studio = (await api.get("/health", params={"org": "inkwell-tattoo"})).json()
    assert studio["templates_configured"] == ["deposit", "follow_up"]
    assert (await api.get("/health", params={"org": "nope"})).status_code == 404


async def test_readyz_fails_when_migrations_are_behind(tmp_path: pytest.TempPathFactory) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"  # never migrated
    async with app_client(make_settings(url)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "/problems/service-unavailable"
    assert "migrations" in body["detail"]
    assert body["checks"]["migrations"]["current"] is None


async def test_readyz_checks_redis_when_configured(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url, redis_url="redis://127.0.0.1:6379/15")) as c:
        response = await c.get("/readyz")
    if response.status_code != 200 or response.json()["checks"]["redis"]["status"] != "ok":
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    assert response.json()["checks"]["redis"] == {"status": "ok"}


async def test_redis_down_degrades_readiness_and_requests_are_served(sqlite_url: str) -> None:
    """Redis is optional (rate limits fail open): down, it degrades readiness, no 503."""
    settings = make_settings(sqlite_url, redis_url="redis://127.0.0.1:1/0")
    async with app_client(settings) as client:
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["redis"]["status"] == "degraded"
        assert body["checks"]["redis"]["error"] == "ConnectionError"
        assert body["checks"]["database"] == {"status": "ok"}
        served = await client.post("/v1/estimate?org=nobody", json={})
        assert served.status_code in (404, 422), served.text  # answered, not refused


async def test_readyz_requires_a_fresh_worker_when_configured(
    sqlite_url: str, tmp_path: pytest.TempPathFactory
) -> None:
    settings = make_settings(sqlite_url, readiness_require_worker=True)
    db = Database(sqlite_url)
    try:
        async with app_client(settings) as client:
            response = await client.get("/readyz")
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["type"] == "/problems/service-unavailable"
            assert body["checks"]["workers"] == {"status": "failed", "fresh": 0}
            assert "workers" in body["detail"]

            await Worker(db, WorkRegistry()).run(once=True)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["workers"] == {"status": "ok", "fresh": 1}
    finally:
        async with db.unit_of_work(system=True) as s:
            await s.execute(delete(WorkerHeartbeat))
        await db.dispose()


@pytest.mark.postgres
async def test_readiness_is_503_while_the_database_is_down_and_recovers(pg_url: str) -> None:
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
    settings = make_settings(via_proxy, readiness_timeout_seconds=1.0, database_timeout_seconds=1.0)
    try:
        async with app_client(settings) as client:
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/ready")).status_code == 200

            await proxy.cut()
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.json()["checks"]["database"]["status"] == "failed"
            assert "database" in down.json()["detail"]
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["ok"] is False
            assert ready.json()["database"] == "disconnected"
            assert (await client.get("/healthz")).status_code == 200  # liveness needs no I/O

            await proxy.start()
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/ready")).json() == {"ok": True, "database": "connected"}
    finally:
        await proxy.cut()


async def test_metrics_label_by_route_template_never_raw_path(api: httpx.AsyncClient) -> None:
    for name in ("not-found", "validation-error", "conflict"):
        await api.get(f"/problems/{name}")
    await api.get("/no/such/path/123")
    text = (await api.get("/metrics")).text
    assert (
        'servio_http_requests_total{method="GET",route="/problems/{name}",status="200"} 3.0' in text
    )
    assert 'route="<unmatched>",status="404"' in text
    assert "/problems/not-found" not in text
    assert "/no/such/path" not in text
    assert 'servio_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert "servio_http_requests_in_flight 1.0" in text  # the /metrics request itself
    assert "process_cpu_seconds_total" in text or "python_info" in text
    assert "servio_db_pool_checkedout" in text


async def test_metrics_need_the_token_when_one_is_set(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url, metrics_token="m-token-0123456789")) as client:
        denied = await client.get("/metrics")
        assert denied.status_code == 401
        assert denied.json()["type"] == "/problems/metrics-token-required"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer m-token-0123456789"})
        assert ok.status_code == 200
        assert "servio_http_requests_total" in ok.text
