"""The ``servio`` command as an operator runs it: real processes, real databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from servio.cli import app
from servio.platform.db.migrations import head_revision

SERVIO = [sys.executable, "-m", "servio.cli"]
runner = CliRunner()


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    merged = {**os.environ, "SERVIO_ENV": "test", "COLUMNS": "200", **env}
    return subprocess.run(
        [*SERVIO, *args],
        env=merged,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], "migrate"),
        (["serve", "--help"], "--port"),
        (["worker", "--help"], "--once"),
        (["migrate", "--help"], "downgrade"),
        (["seed", "demo", "--help"], "idempotent"),
        (["demo", "--help"], "--port"),
        (["audit", "verify", "--help"], "tampered"),
        (["check-live", "--help"], "--base-url"),
    ],
)
def test_help_is_useful_on_every_command(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert expected in result.output


@pytest.mark.slow
def test_migrate_seed_and_worker_on_a_fresh_sqlite_database(tmp_path: Path) -> None:
    db_file = tmp_path / "var" / "cli.db"
    env = {"SERVIO_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}"}

    upgraded = run(["migrate", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    head = head_revision()
    assert f"database at {head}" in upgraded.stdout
    assert f"current: {head}  head: {head}" in run(["migrate", "current"], env, tmp_path).stdout
    assert run(["migrate", "check"], env, tmp_path).returncode == 0

    for _ in range(2):  # idempotent
        seeded = run(["seed", "demo"], env, tmp_path)
        assert seeded.returncode == 0, seeded.stderr
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        orgs = conn.execute(
            text("SELECT slug, vertical, timezone, currency FROM orgs ORDER BY slug")
        ).all()
        settings = conn.execute(text("SELECT count(*) FROM org_settings")).scalar()
        teams = conn.execute(text("SELECT count(*) FROM resources")).scalar()
    assert [tuple(o) for o in orgs] == [
        ("inkwell-tattoo", "tattoo", "America/Edmonton", "CAD"),
        ("sparkle-clean", "cleaning", "America/Edmonton", "CAD"),
    ]
    assert settings == 5  # tax rate and name, travel buffer, WhatsApp number and templates
    assert teams == 4  # two cleaning teams, two tattoo artists

    worked = run(["worker", "--once"], env, tmp_path)
    assert worked.returncode == 0, worked.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM worker_heartbeats")).scalar() == 1

    down = run(["migrate", "downgrade", "base"], env, tmp_path)
    assert down.returncode == 0
    assert "database at None" in down.stdout
    engine.dispose()


@pytest.mark.slow
def test_demo_seed_is_refused_in_production(tmp_path: Path) -> None:
    env = {
        "SERVIO_ENV": "prod",
        "SERVIO_SECRET_KEY": "p" * 40,
        "SERVIO_METRICS_TOKEN": "metrics-token-7c1e9a",
        "SERVIO_CLIENT_PORTAL_SECRET": "c" * 40,
        "SERVIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/prod.db",
    }
    result = run(["seed", "demo"], env, tmp_path)
    assert result.returncode == 1
    assert "SERVIO_ENV=prod" in result.stderr


@pytest.mark.parametrize("command", [["serve"], ["worker", "--once"], ["migrate", "upgrade"]])
def test_invalid_setting_is_named_and_exits_non_zero(command: list[str]) -> None:
    result = runner.invoke(
        app, command, env={"SERVIO_DATABASE_URL": "mysql://db/servio", "COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "SERVIO_DATABASE_URL" in result.output
    assert "sqlite+aiosqlite://" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_production_without_secrets_refuses_to_serve(tmp_path: Path) -> None:
    result = run(["serve"], {"SERVIO_ENV": "prod"}, tmp_path)
    assert result.returncode == 2
    assert "SERVIO_SECRET_KEY" in result.stderr
    assert "SERVIO_METRICS_TOKEN" in result.stderr
    assert "SERVIO_CLIENT_PORTAL_SECRET" in result.stderr


@pytest.mark.slow
@pytest.mark.postgres
def test_migrate_check_on_postgres(pg_url: str, tmp_path: Path) -> None:
    result = run(["migrate", "check"], {"SERVIO_DATABASE_URL": pg_url}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "models and migrations agree" in result.stdout


@pytest.mark.slow
def test_migrate_takes_relative_targets_and_lists_history(tmp_path: Path) -> None:
    env = {
        "SERVIO_ENV": "test",
        "SERVIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/steps.db",
        "COLUMNS": "200",
    }
    head = head_revision()
    assert runner.invoke(app, ["migrate", "upgrade"], env=env).exit_code == 0

    down = runner.invoke(app, ["migrate", "downgrade", "-1"], env=env)
    assert down.exit_code == 0, down.output
    listed = runner.invoke(app, ["migrate", "history"], env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == len({line.split(",")[0] for line in lines}) >= 2
    newest, previous = lines[0], lines[1]
    before_head = previous.split(" -> ")[1].split()[0]
    assert newest.startswith(f"{before_head} -> {head} (head),")
    assert previous.split(",")[0].endswith(f"-> {before_head} (current)")
    assert lines[-1].startswith("<base> -> 0001")
    assert f"database at {before_head}" in down.output
    current = runner.invoke(app, ["migrate", "current"], env=env)
    assert f"current: {before_head}  head: {head}" in current.output

    assert f"database at {head}" in runner.invoke(app, ["migrate", "upgrade", "+1"], env=env).output
    past_head = runner.invoke(app, ["migrate", "upgrade", "+1"], env=env)
    assert past_head.exit_code == 1
    assert "migration refused" in past_head.output
    assert "Traceback" not in past_head.output

    emptied = runner.invoke(app, ["migrate", "downgrade", "base"], env=env)
    assert "database at None" in emptied.output
    assert "(current)" not in runner.invoke(app, ["migrate", "history"], env=env).output
