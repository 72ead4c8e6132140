"""Schemathesis over the app's own OpenAPI document, through ASGI, on a database seeded
with the demo businesses and signed in as the demo cleaning company's owner: the
examples and coverage phases (every documented example, then values at and past each
boundary of each parameter and field) must find no server error and no status the
document does not list. The seed is fixed, so a run repeats; the examples per
operation are few, so a run takes about a minute per database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.engine import StopReason, events
from schemathesis.engine import from_schema as engine_for
from schemathesis.python import asgi

from servio.app.seeding import seed_demo
from servio.platform.config import Settings
from servio.web.app import create_app
from tests.conftest import _wipe as wipe
from tests.conftest import make_settings
from tests.support import databases

SEED = 20261207
MAX_EXAMPLES = 10
OWNER = "owner@sparkle-clean.example.com"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the run writes freely and nothing is left behind."""
    if request.param == "sqlite":
        url = databases.create_sqlite_database(tmp_path)
        databases.migrate(url)
        yield url
        return
    if not databases.postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    url, _admin = databases.create_postgres_database("schemathesis")
    try:
        databases.migrate(url)
        yield url
    finally:
        asyncio.run(wipe(url))  # a database given by SERVIO_TEST_DATABASE_URL stays
        databases.drop_postgres_database(url)


async def _seed_and_sign_in(settings: Settings) -> str:
    await seed_demo(settings, show_progress=False)
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 123))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            password = settings.demo_password.get_secret_value()
            r = await http.post("/v1/auth/login", json={"email": OWNER, "password": password})
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])
    finally:
        await app.state.container.close()


def _config(token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},  # no state carried from one run to the next
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": False},
                "stateful": {"enabled": False},
            },
        }
    )


def _failures(finished: events.ScenarioFinished) -> Iterator[str]:
    recorder = finished.recorder
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            case = recorder.cases[case_id].value
            failure = check.failure_info.failure
            yield (
                f"{recorder.label}: {check.name}: {failure.title} {failure.message!r} "
                f"for {case.method} {case.formatted_path} query={case.query} body={case.body!r}"
            )


def test_no_server_error_and_no_undocumented_status(own_database: str, tmp_path: Path) -> None:
    settings = make_settings(own_database, var_dir=tmp_path / "var", rate_limit_enabled=False)
    token = asyncio.run(_seed_and_sign_in(settings))
    app = create_app(settings)
    found: list[str] = []
    errors: list[str] = []
    operations = 0
    stop = None
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(token))
        for event in engine_for(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                operations += 1
                found.extend(_failures(event))
            elif isinstance(event, events.NonFatalError | events.FatalError):
                errors.append(repr(event))
            elif isinstance(event, events.EngineFinished):
                stop = event.stop_reason
    finally:
        asgi.shutdown_lifespans()
    assert not errors, errors
    assert stop == StopReason.COMPLETED
    assert operations >= 100  # every operation ran, in both phases
    assert not found, "\n".join(found[:30])
