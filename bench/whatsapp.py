"""WhatsApp inbound end to end on PostgreSQL: signed ``POST /webhooks/whatsapp``
deliveries (one text message each, every one from a new contact) to the demo studio
``inkwell-tattoo``, each stored and queued as ``conversation.inbound``, then run through
the conversation engine by a ``servio worker`` process started here, which queues the
reply rows (sent in dry-run mode). ``GET /healthz`` on the same server under the same
load is the baseline, in the same run.

Two loads per round, each a wrk run replaying pre-signed bodies
(``whatsapp_wrk.lua``): latency with one connection (the webhook's p50/p95/p99: what
Meta waits for; the worker runs beside it) and throughput with 32 connections. A rate
is the number of messages accepted divided by the time from the load's start until the
last of their ``conversation.inbound`` rows is done (taken from ``done_at``), so it
counts storing, the engine and the queued replies, not only the webhook.

Result ``whatsapp``: messages/s end to end at 32 connections, /healthz as the
baseline; target: webhook p95 < 50 ms with one connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

import servio.app.models  # noqa: F401 - every table, so foreign keys resolve
from common import (
    RESULTS,
    ROOT,
    VENV_BIN,
    WrkRun,
    cpu_seconds,
    median_run,
    run_wrk,
    server,
    write_result,
)
from servio.platform.db import Database
from servio.platform.outbox import OutboxMessage

DATABASE_URL = os.environ.get(
    "SERVIO_BENCH_DATABASE_URL", "postgresql+asyncpg://servio_app@127.0.0.1:5432/servio_bench"
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WHATSAPP_WORKERS", "1"))
MESSAGES = int(os.environ.get("BENCH_WHATSAPP_MESSAGES", "20000"))  # signed bodies per load
THREADS, LATENCY_CONNECTIONS, LOAD_CONNECTIONS = 1, 1, 32
PORT = 18085
APP_SECRET = "bench-app-secret"  # noqa: S105 - a throw-away bench secret
VERIFY_TOKEN = "bench-verify-token"  # noqa: S105
PHONE_NUMBER_ID = "100000000000001"  # the demo studio's number
INBOUND = "conversation.inbound"
TARGET_P95_MS = 50.0
BENCH_DIR = Path(__file__).resolve().parent
LUA = BENCH_DIR / "whatsapp_wrk.lua"


def env() -> dict[str, str]:
    return {
        "SERVIO_DATABASE_URL": DATABASE_URL,
        "SERVIO_ENV": "dev",  # the demo seed refuses prod; dev keeps the defaults lean
        "SERVIO_ACCESS_LOG": "true",
        "SERVIO_LOG_LEVEL": "warning",
        "SERVIO_WHATSAPP_APP_SECRET": APP_SECRET,
        "SERVIO_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "SERVIO_WHATSAPP_DRY_RUN": "true",
        # Throughput, not abuse: the per-address limit would refuse the load.
        "SERVIO_RATE_LIMIT_ENABLED": "false",
    }


def prepare() -> None:
    """The schema at head and the demo businesses (idempotent)."""
    for args in (["migrate", "upgrade"], ["seed", "demo"]):
        subprocess.run(
            [str(VENV_BIN / "servio"), *args],
            env={**os.environ, **env()},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def delivery(tag: str, prefix: str, n: int) -> bytes:
    """One Meta envelope with one text message from a contact of its own."""
    sender = f"{prefix}{n:07d}"
    message = {
        "from": sender,
        "id": f"wamid.{tag}.{n}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": "hi"},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": f"Client {n}"}, "wa_id": sender}],
        "messages": [message],
    }
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def write_deliveries(tag: str, count: int) -> Path:
    """``count`` signed bodies, one a line, for whatsapp_wrk.lua."""
    prefix = f"1{random.randrange(10**6):06d}"
    path = RESULTS / f"whatsapp-{tag}.requests"
    with path.open("wb") as out:
        for n in range(count):
            body = delivery(tag, prefix, n)
            out.write(signed(body).encode() + b"\t" + body + b"\n")
    return path


def wrk_deliveries(base: str, path: Path, connections: int) -> WrkRun:
    return run_wrk(
        f"{base}/webhooks/whatsapp",
        threads=THREADS,
        connections=connections,
        seconds=SECONDS,
        script=LUA,
        script_args=[str(path)],
    )


async def drained(tag: str, started: datetime, wait_seconds: float) -> dict[str, Any]:
    """Wait until every ``conversation.inbound`` row of ``tag`` is finished; the count,
    the seconds from ``started`` to the last one done, and the replies queued since."""
    db = Database(DATABASE_URL)
    try:
        return await _drained(db, tag, started, time.monotonic() + wait_seconds)
    finally:
        await db.dispose()


async def _drained(db: Database, tag: str, started: datetime, deadline: float) -> dict[str, Any]:
    mine = (OutboxMessage.kind == INBOUND) & OutboxMessage.dedupe_key.like(
        f"{INBOUND}:wamid.{tag}.%"
    )
    while True:
        async with db.unit_of_work(system=True) as s:
            rows = dict(
                (
                    await s.execute(
                        select(OutboxMessage.status, func.count())
                        .where(mine)
                        .group_by(OutboxMessage.status)
                    )
                ).all()  # type: ignore[arg-type]
            )
            if not rows.get("pending") and not rows.get("in_flight"):
                last = await s.scalar(select(func.max(OutboxMessage.done_at)).where(mine))
                replies = await s.scalar(
                    select(func.count()).where(
                        OutboxMessage.kind == "whatsapp.send", OutboxMessage.created_at >= started
                    )
                )
                break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tag}: conversation.inbound rows still pending: {rows}")
        await asyncio.sleep(0.2)
    seconds = (last - started).total_seconds() if last else 0.0
    return {"statuses": rows, "done": rows.get("done", 0), "seconds": seconds, "replies": replies}


def load(base: str, connections: int, pids: dict[str, list[int]]) -> dict[str, Any]:
    """One wrk load of fresh deliveries, then the drain: webhook percentiles, the
    end-to-end rate, and the server's and the workers' CPU per message (which moves far
    less than the rate when other work shares the machine)."""
    tag = uuid.uuid4().hex[:12]
    path = write_deliveries(tag, MESSAGES)
    cpu = {name: cpu_seconds(p) for name, p in pids.items()}
    started = datetime.now(UTC)
    run = wrk_deliveries(base, path, connections)
    path.unlink()
    drain = asyncio.run(drained(tag, started, wait_seconds=900))
    rate = drain["done"] / drain["seconds"] if drain["seconds"] else 0.0
    per_message = {
        f"{name}_cpu_ms_per_message": round(
            (cpu_seconds(p) - cpu[name]) * 1000 / max(drain["done"], 1), 2
        )
        for name, p in pids.items()
    }
    return {"wrk": run, "messages_per_second": round(rate, 1), **drain, **per_message}


@contextmanager
def workers(count: int) -> Iterator[list[int]]:
    log = (RESULTS / "whatsapp-worker.log").open("ab")
    command = [str(VENV_BIN / "servio"), "worker"]
    processes = [
        subprocess.Popen(command, env={**os.environ, **env()}, cwd=ROOT, stdout=log, stderr=log)
        for _ in range(count)
    ]
    try:
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        log.close()


def probe(base: str) -> None:
    """One delivery before the load: 200, stored, and its engine run done."""
    tag = "probe" + uuid.uuid4().hex[:8]
    body = delivery(tag, "1999", random.randrange(10**7))
    started = datetime.now(UTC)
    r = httpx.post(
        f"{base}/webhooks/whatsapp",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signed(body)},
    )
    assert r.status_code == 200, r.text
    assert r.json().get("stored") == 1, r.text
    drain = asyncio.run(drained(tag, started, wait_seconds=60))
    assert drain["done"] == 1, drain
    assert drain["replies"] >= 1, drain


def main() -> None:
    prepare()
    base = f"http://127.0.0.1:{PORT}"
    cmd = [str(VENV_BIN / "servio"), "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    latency: list[dict[str, Any]] = []
    loaded: list[dict[str, Any]] = []
    healthz: list[WrkRun] = []
    with (
        server(cmd, env(), "whatsapp-servio.log", f"{base}/healthz") as serving,
        workers(WORKERS) as worker_pids,
    ):
        pids = {"server": [serving.pid], "worker": worker_pids}
        probe(base)
        run_wrk(f"{base}/healthz", threads=THREADS, connections=LOAD_CONNECTIONS, seconds=2)
        for _ in range(ROUNDS):
            latency.append(load(base, LATENCY_CONNECTIONS, pids))
            loaded.append(load(base, LOAD_CONNECTIONS, pids))
            healthz.append(
                run_wrk(
                    f"{base}/healthz",
                    threads=THREADS,
                    connections=LOAD_CONNECTIONS,
                    seconds=SECONDS,
                )
            )
    report(latency, loaded, median_run(healthz))


def summary(phases: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "messages_per_second": round(
            statistics.median(p["messages_per_second"] for p in phases), 1
        ),
        "webhook": median_run([p["wrk"] for p in phases]),
        **{
            key: round(statistics.median(p[key] for p in phases), 2)
            for key in ("server_cpu_ms_per_message", "worker_cpu_ms_per_message")
        },
        "rounds": [
            {k: v for k, v in p.items() if k != "wrk"}
            | {"webhook_rps": round(p["wrk"].requests_per_second, 1)}
            for p in phases
        ],
    }


def report(
    latency: list[dict[str, Any]], loaded: list[dict[str, Any]], healthz: dict[str, float]
) -> None:
    one, many = summary(latency), summary(loaded)
    p95 = one["webhook"]["p95_ms"]
    result = write_result(
        "whatsapp",
        value=many["messages_per_second"],
        unit="messages/s",
        baseline=healthz["requests_per_second"],
        params={
            "endpoint": "POST /webhooks/whatsapp (signed, one text message from a new contact)",
            "end_to_end": (
                "accepted (200), stored, conversation.inbound run by the engine in "
                f"{WORKERS} servio worker process(es), replies queued (dry run)"
            ),
            "baseline": "GET /healthz on the same server, same load",
            "latency_load": f"wrk -t{THREADS} -c{LATENCY_CONNECTIONS} -d{SECONDS}s",
            "throughput_load": f"wrk -t{THREADS} -c{LOAD_CONNECTIONS} -d{SECONDS}s",
            "rounds": ROUNDS,
            "aggregate": "median of rounds",
            "latency": one,
            "under_load": many,
            "healthz": healthz,
            "database": "postgresql",
            "target": f"webhook latency p95 < {TARGET_P95_MS:.0f} ms",
            "target_met": p95 < TARGET_P95_MS and one["webhook"]["errors"] == 0,
        },
    )
    w = one["webhook"]
    print(
        f"whatsapp: webhook p50 {w['p50_ms']:.2f} ms, p95 {p95:.2f} ms, "
        f"p99 {w['p99_ms']:.2f} ms (target p95 < {TARGET_P95_MS:.0f} ms); "
        f"{many['messages_per_second']:.0f} messages/s end to end at {LOAD_CONNECTIONS} "
        f"connections (webhook {many['webhook']['requests_per_second']:.0f} req/s, "
        f"p95 {many['webhook']['p95_ms']:.0f} ms) vs /healthz "
        f"{healthz['requests_per_second']:.0f} req/s -> ratio {result['ratio']}; CPU per "
        f"message: server {many['server_cpu_ms_per_message']:.1f} ms, worker "
        f"{many['worker_cpu_ms_per_message']:.1f} ms "
        f"(load {result['machine']['loadavg_1m_at_end']})"
    )


if __name__ == "__main__":
    main()
