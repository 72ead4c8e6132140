"""Slot search on a large business: ``GET /v1/slots`` for one day and for 14 days on
the org ``bench-large`` (50 resources, 100,000 bookings; ``seed_large.py`` seeds it
when missing), beside ``GET /healthz`` on the same server, alternating, in the same run.

Two loads, each a wrk run per round: latency with one connection (a customer's request
on an otherwise idle server: its p50/p95/p99 are what the targets speak of; with more
connections than the one server process can serve at once they would measure the
queue), and throughput with 32 connections like ``http_baseline`` and ``auth_me``,
where /healthz under the same load is the baseline.

Two results: ``slots_1_day`` and ``slots_14_days``, each in requests/s at 32
connections with /healthz as the baseline; latency (and the percentiles under the
32-connection load) in ``params``. Targets: p95 < 50 ms (1 day), < 150 ms (14 days).
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console

import seed_large
from common import VENV_BIN, WrkRun, median_run, run_wrk, server, write_result

DATABASE_URL = seed_large.DATABASE_URL
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
THREADS = 1
LATENCY_CONNECTIONS = int(os.environ.get("BENCH_SLOTS_LATENCY_CONNECTIONS", "1"))
LOAD_CONNECTIONS = 32
DURATION_MINUTES = 120
PORT = 18083
TARGETS_MS = {1: 50.0, 14: 150.0}


def first_day() -> date:
    """The first Wednesday at least two days ahead: past the minimum notice, and a day
    every team works."""
    day = datetime.now(UTC).astimezone(ZoneInfo(seed_large.TIMEZONE)).date() + timedelta(days=2)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def slots_path(day: date, days: int) -> str:
    return (
        f"/v1/slots?org={seed_large.ORG_SLUG}&date={day.isoformat()}"
        f"&duration_minutes={DURATION_MINUTES}&days={days}"
    )


def probe(url: str) -> dict[str, int]:
    """One request before the load: it must answer 200 with free slots."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        body = response.read()
    slots = len(json.loads(body)["slots"])
    assert slots > 0, f"{url} offered no slot"
    return {"slots": slots, "response_bytes": len(body)}


def main() -> None:
    seed_large.migrate()
    asyncio.run(
        seed_large.seed(seed_large.RESOURCES, seed_large.BOOKINGS, force=False, console=Console())
    )
    env = {
        "SERVIO_DATABASE_URL": DATABASE_URL,
        "SERVIO_ENV": "test",
        "SERVIO_ACCESS_LOG": "true",
        # Throughput, not abuse: the per-address limit would refuse the load.
        "SERVIO_RATE_LIMIT_ENABLED": "false",
    }
    base = f"http://127.0.0.1:{PORT}"
    day = first_day()
    urls = {"1": base + slots_path(day, 1), "14": base + slots_path(day, 14)}
    urls["healthz"] = f"{base}/healthz"
    cmd = [str(VENV_BIN / "servio"), "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    latency: dict[str, list[WrkRun]] = {key: [] for key in ("1", "14")}
    load: dict[str, list[WrkRun]] = {key: [] for key in urls}
    with server(cmd, env, "slots-servio.log", urls["healthz"]):
        shapes = {days: probe(urls[days]) for days in ("1", "14")}
        for url in urls.values():  # warm up
            run_wrk(url, threads=THREADS, connections=LOAD_CONNECTIONS, seconds=2)
        for _ in range(ROUNDS):
            for key, runs in latency.items():
                runs.append(run_wrk(urls[key], **wrk_load(LATENCY_CONNECTIONS)))
            for key, runs in load.items():
                runs.append(run_wrk(urls[key], **wrk_load(LOAD_CONNECTIONS)))
    healthz = median_run(load["healthz"])
    for days in ("1", "14"):
        report(
            int(days), day, median_run(latency[days]), median_run(load[days]), healthz, shapes[days]
        )


def wrk_load(connections: int) -> dict[str, int]:
    return {"threads": THREADS, "connections": connections, "seconds": SECONDS}


def report(
    days: int,
    day: date,
    latency: dict[str, float],
    loaded: dict[str, float],
    healthz: dict[str, float],
    shape: dict[str, int],
) -> None:
    name = f"slots_{days}_day" if days == 1 else f"slots_{days}_days"
    target = TARGETS_MS[days]
    result = write_result(
        name,
        value=loaded["requests_per_second"],
        unit="req/s",
        baseline=healthz["requests_per_second"],
        params={
            "endpoint": f"GET {slots_path(day, days)}",
            "baseline": "GET /healthz on the same server, same load",
            "data": (
                f"org {seed_large.ORG_SLUG}: {seed_large.RESOURCES} resources, "
                f"{seed_large.BOOKINGS:,} bookings (bench/seed_large.py)"
            ),
            **shape,
            "latency_load": f"wrk -t{THREADS} -c{LATENCY_CONNECTIONS} -d{SECONDS}s",
            "throughput_load": f"wrk -t{THREADS} -c{LOAD_CONNECTIONS} -d{SECONDS}s",
            "rounds": ROUNDS,
            "aggregate": "median of rounds; 1 day, 14 days and /healthz alternating",
            "latency": latency,
            "under_load": loaded,
            "healthz": healthz,
            "database": "postgresql",
            "target": f"latency p95 < {target:.0f} ms",
            "target_met": latency["p95_ms"] < target and latency["errors"] == 0,
        },
    )
    print(
        f"{name}: p50 {latency['p50_ms']:.2f} ms, p95 {latency['p95_ms']:.2f} ms, "
        f"p99 {latency['p99_ms']:.2f} ms (target p95 < {target:.0f} ms, {shape['slots']} slots); "
        f"{loaded['requests_per_second']:.0f} req/s at {LOAD_CONNECTIONS} connections "
        f"(p95 {loaded['p95_ms']:.0f} ms) vs /healthz {healthz['requests_per_second']:.0f} req/s "
        f"-> ratio {result['ratio']} (load {result['machine']['loadavg_1m_at_end']})"
    )


if __name__ == "__main__":
    main()
