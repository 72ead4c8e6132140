"""Outbox delivery throughput on PostgreSQL: 20,000 messages drained by 1 and then 2
``servio worker`` processes, each message POSTed to a local no-op HTTP sink (the
outbox's aiohttp clients, one session per worker, ``Idempotency-Key`` set), beside the
database floor measured in the same run: the same claims and outcome writes with a
handler that does nothing.

A rate is taken from the messages' ``done_at`` times (workers are started and idle
before the messages are committed, and the first recorded batch is left out), so
process start-up and the idle poll do not count.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

import servio.app.models  # noqa: F401 - every table, so foreign keys resolve
from common import RESULTS, ROOT, VENV_BIN, cpu_seconds, free_port, write_result
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.outbox import OutboxMessage
from servio.platform.worker import WorkerHeartbeat

DATABASE_URL = os.environ.get(
    "SERVIO_BENCH_DATABASE_URL", "postgresql+asyncpg://servio_app@127.0.0.1:5432/servio_bench"
)
MESSAGES = int(os.environ.get("BENCH_OUTBOX_MESSAGES", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BATCH_SIZE = os.environ.get("BENCH_OUTBOX_BATCH_SIZE", "")  # empty: the product default
CONCURRENCY = os.environ.get("BENCH_OUTBOX_CONCURRENCY", "")
TARGET = 1000.0  # messages/s with 2 workers
BENCH_DIR = Path(__file__).resolve().parent


def worker_env() -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(BENCH_DIR),
        "SERVIO_ENV": "test",
        "SERVIO_DATABASE_URL": DATABASE_URL,
        "SERVIO_WORKER_PLUGINS": "outbox_plugin",
        "SERVIO_LOG_LEVEL": "warning",
    }
    if BATCH_SIZE:
        env["SERVIO_OUTBOX_BATCH_SIZE"] = BATCH_SIZE
    if CONCURRENCY:
        env["SERVIO_OUTBOX_CONCURRENCY"] = CONCURRENCY
    return env


async def reset(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, provider_circuits, worker_heartbeats"))


async def wait_for(db: Database, query: Any, expected: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with db.unit_of_work(system=True) as s:
            if (await s.scalar(query) or 0) >= expected:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out after {seconds:.0f}s")


async def add_messages(db: Database, kind: str, url: str) -> None:
    now = utcnow()
    rows = [
        {
            "kind": kind,
            "payload": {"url": url, "n": n},
            "dedupe_key": f"{kind}-{n}",
            "status": "pending",
            "attempts": 0,
            "max_attempts": 0,
            "next_attempt_at": now,
            "history": [],
            "created_at": now,
            "updated_at": now,
        }
        for n in range(MESSAGES)
    ]
    async with db.unit_of_work(system=True) as s:
        await s.execute(insert(OutboxMessage), rows)


async def rate_from_done_times(db: Database, kind: str) -> float:
    """Messages per second of this phase's kind (a scheduled job of the worker may queue
    messages of its own meanwhile, such as reminders for the seeded bookings)."""
    async with db.unit_of_work(system=True) as s:
        batches = (
            await s.execute(
                select(OutboxMessage.done_at, func.count())
                .where(OutboxMessage.kind == kind, OutboxMessage.done_at.is_not(None))
                .group_by(OutboxMessage.done_at)
                .order_by(OutboxMessage.done_at)
            )
        ).all()
    first, last = batches[0][0], batches[-1][0]
    return (MESSAGES - batches[0][1]) / (last - first).total_seconds()


def start_workers(count: int, log: Any) -> list[subprocess.Popen[bytes]]:
    command = [str(VENV_BIN / "servio"), "worker"]
    env = worker_env()
    return [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(count)
    ]


async def phase(db: Database, kind: str, workers: int, url: str) -> dict[str, float]:
    """One drain of MESSAGES by ``workers`` processes: messages/s, and the workers' CPU
    per message (start-up excluded)."""
    await reset(db)
    log = (RESULTS / "outbox-workers.log").open("ab")
    processes = start_workers(workers, log)
    try:
        pids = [p.pid for p in processes]
        await wait_for(db, select(func.count()).select_from(WorkerHeartbeat), workers, 60)
        cpu_before = cpu_seconds(pids)
        await add_messages(db, kind, url)
        done = select(func.count()).where(
            OutboxMessage.status == "done", OutboxMessage.kind == kind
        )
        await wait_for(db, done, MESSAGES, 600)
        cpu = cpu_seconds(pids) - cpu_before
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        log.close()
    rate = await rate_from_done_times(db, kind)
    return {
        "messages_per_second": round(rate, 1),
        "worker_cpu_ms_per_message": round(cpu * 1000 / MESSAGES, 3),
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    rates = [r["messages_per_second"] for r in runs]
    cpu = [r["worker_cpu_ms_per_message"] for r in runs]
    return {
        "messages_per_second": round(statistics.median(rates), 1),
        "min": min(rates),
        "max": max(rates),
        "rounds": rates,
        "worker_cpu_ms_per_message": round(statistics.median(cpu), 3),
    }


async def measure(url: str) -> dict[str, dict[str, Any]]:
    db = Database(DATABASE_URL)
    runs: dict[str, list[dict[str, float]]] = {}
    try:
        for round_no in range(ROUNDS):
            for name, kind, workers in (
                ("floor_1_worker", "bench.noop", 1),
                ("http_1_worker", "bench.http", 1),
                ("floor_2_workers", "bench.noop", 2),
                ("http_2_workers", "bench.http", 2),
            ):
                result = await phase(db, kind, workers, url)
                runs.setdefault(name, []).append(result)
                print(f"  round {round_no + 1} {name}: {result}", file=sys.stderr)
        await reset(db)
    finally:
        await db.dispose()
    return {name: summary(r) for name, r in runs.items()}


def main() -> None:
    subprocess.run(
        [str(VENV_BIN / "servio"), "migrate", "upgrade"],
        env={**os.environ, "SERVIO_DATABASE_URL": DATABASE_URL, "SERVIO_ENV": "test"},
        check=True,
        capture_output=True,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    sink = subprocess.Popen(
        [str(VENV_BIN / "python"), str(BENCH_DIR / "outbox_sink.py"), str(port)]
    )
    try:
        time.sleep(0.5)
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}/deliver"))
    finally:
        sink.terminate()
        sink.wait(10)
    http, floor = figures["http_2_workers"], figures["floor_2_workers"]
    result = write_result(
        "outbox",
        value=http["messages_per_second"],
        unit="messages/s",
        baseline=floor["messages_per_second"],
        params={
            "messages": MESSAGES,
            "rounds": ROUNDS,
            "aggregate": "median of rounds",
            "value": "2 worker processes, each message POSTed to a local no-op HTTP sink",
            "baseline": "2 worker processes, the same claims and writes, a no-op handler",
            "batch_size": int(BATCH_SIZE or Settings.model_fields["outbox_batch_size"].default),
            "concurrency": int(CONCURRENCY or Settings.model_fields["outbox_concurrency"].default),
            **figures,
            "database": "postgresql",
            "target": f">= {TARGET:.0f} messages/s with 2 workers",
        },
    )
    print(
        f"outbox: {http['messages_per_second']:.0f} msg/s with 2 workers "
        f"({figures['http_1_worker']['messages_per_second']:.0f} with 1), database floor "
        f"{floor['messages_per_second']:.0f} msg/s "
        f"({figures['floor_1_worker']['messages_per_second']:.0f} with 1) "
        f"-> ratio {result['ratio']} (target >= {TARGET:.0f} msg/s)"
    )


if __name__ == "__main__":
    main()
