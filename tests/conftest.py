"""Test harness: every portable test runs on SQLite and on PostgreSQL; tests marked
``postgres`` need PostgreSQL. With ``SERVIO_REQUIRE_POSTGRES=1`` (CI) an unreachable
PostgreSQL or any skipped PostgreSQL test fails the run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import time_machine
from sqlalchemy import text

import servio.app.models
from servio.platform.clock import parse_instant
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.support import databases
from tests.support.app import app_client
from tests.support.redis import unique_prefix

REQUIRE_POSTGRES = os.environ.get("SERVIO_REQUIRE_POSTGRES") == "1"
# CI runs the date-sensitive tests again with the whole process moved to a chosen instant
# (``SERVIO_TEST_NOW=2027-11-07T08:30:00Z``): the clock then ticks on from there.
TEST_NOW = os.environ.get("SERVIO_TEST_NOW", "").strip()
PG_AVAILABLE = databases.postgres_reachable()
_skipped_postgres: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if TEST_NOW:
        travel = time_machine.travel(parse_instant(TEST_NOW), tick=True)
        travel.start()
        config.add_cleanup(travel.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"clock moved to {TEST_NOW} (SERVIO_TEST_NOW)" if TEST_NOW else None


# What depends most on the day and hour it runs: slots, bookings, reminders, the demo's
# history, the browser's booking, portal and dispatcher journeys. Marked ``dates``: CI
# runs them again at pinned instants (``make test-dates``).
DATE_SENSITIVE = (
    "tests/domains/scheduling/",
    "tests/domains/bookings/",
    "tests/domains/messaging/test_reminders.py",
    "tests/domains/conversations/test_dates.py",
    "tests/domains/portal/",
    "tests/test_demo_flow.py",
    "tests/browser/test_public_booking.py",
    "tests/browser/test_client_portal.py",
    "tests/browser/test_dispatcher_reschedules.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if where.startswith(DATE_SENSITIVE):
            item.add_marker(pytest.mark.dates)
    if PG_AVAILABLE:
        return
    if REQUIRE_POSTGRES:
        raise pytest.UsageError(
            "SERVIO_REQUIRE_POSTGRES=1 but PostgreSQL at 127.0.0.1:5432 is not reachable"
        )
    skip = pytest.mark.skip(reason="PostgreSQL is not reachable")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRE_POSTGRES and _skipped_postgres:
        session.config.get_terminal_writer().line(
            f"FAILED: {len(_skipped_postgres)} PostgreSQL test(s) skipped; CI requires them: "
            + ", ".join(_skipped_postgres[:5]),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _worker_tag(config: pytest.Config) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable")
    url, _admin = databases.create_postgres_database(_worker_tag(request.config))
    databases.migrate(url)
    yield url
    databases.drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = databases.create_sqlite_database(tmp_path_factory.mktemp("sqlite"))
    databases.migrate(url)
    return url


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The database of this test run: each portable test runs once per backend."""
    name = "pg_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


def _data_tables() -> list[str]:
    return [t.name for t in reversed(servio.app.models.metadata.sorted_tables)]


async def _wipe(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            if db.is_postgres:
                # DELETE (children first) is several times cheaper than TRUNCATE on the
                # mostly empty tables a test leaves; system scope lets it past RLS.
                await conn.execute(text("SELECT set_config('app.system_scope', 'on', true)"))
            for table in _data_tables():
                await conn.execute(text(f'DELETE FROM "{table}"'))
    finally:
        await db.dispose()


async def _database_emptied_after(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    yield database
    await database.dispose()
    await _wipe(url)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A Database on this run's backend; every table is emptied after the test."""
    async for database in _database_emptied_after(db_url):
        yield database


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    async for database in _database_emptied_after(pg_url):
        yield database


def make_settings(url: str, **overrides: object) -> Settings:
    # Cheap argon2 keeps the suite fast; production cost is the default.
    cheap: dict[str, object] = {
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "principal_cache_seconds": 0,  # tests see each revocation at once
    }
    return Settings(env="test", database_url=url, **(cheap | overrides))  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, var_dir=tmp_path / "var")


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the real app over ASGI, on this run's database."""
    async with app_client(settings, raise_errors=False) as client:
        yield client


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _own_rate_limit_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's apps count under a Redis key prefix of their own, so tests sharing one
    Redis (parallel workers, repeated runs) never spend each other's budgets."""
    monkeypatch.setenv("SERVIO_RATE_LIMIT_KEY_PREFIX", unique_prefix())
