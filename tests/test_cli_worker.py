"""``servio worker`` and ``servio demo`` never stop silently: a worker that cannot go on
says why and exits non-zero, and a demo whose in-process worker ended stops too."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.test_cli import run

# Each starts servio in a process of its own and waits for it to give up.
pytestmark = pytest.mark.slow

UNREACHABLE = "postgresql+asyncpg://servio@127.0.0.1:1/servio"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_worker_that_cannot_reach_the_database_says_so_and_exits_1(tmp_path: Path) -> None:
    env = {"SERVIO_DATABASE_URL": UNREACHABLE, "SERVIO_DATABASE_TIMEOUT_SECONDS": "1"}
    result = run(["worker", "--once"], env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "worker stopped" in result.stderr
    assert "[Errno 111]" in result.stderr  # the reason: the connection was refused
    assert "Traceback" not in result.stderr


def test_the_demo_stops_with_exit_1_when_its_worker_ends(tmp_path: Path) -> None:
    env = {
        "SERVIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/var/demo.db",
        "SERVIO_VAR_DIR": str(tmp_path / "var"),
        "SERVIO_WORKER_PLUGINS": "tests.support.worker_defect",
        "SERVIO_LOG_LEVEL": "warning",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    result = run(["demo", "--port", str(_free_port())], env, tmp_path)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "demo stopped: the in-process worker ended" in result.stderr
    assert "WorkerDefect: the loop broke" in result.stderr
