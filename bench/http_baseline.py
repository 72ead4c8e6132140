"""HTTP throughput and latency of ``GET /healthz`` through the full middleware stack of
``servio serve`` (on PostgreSQL), against a bare FastAPI app with one route served the
same way and loaded by the same wrk command, alternating, in the same run."""

from __future__ import annotations

import os
import subprocess

from common import VENV_BIN, median_run, run_wrk, server, write_result

DATABASE_URL = os.environ.get(
    "SERVIO_BENCH_DATABASE_URL", "postgresql+asyncpg://servio_app@127.0.0.1:5432/servio_bench"
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
THREADS, CONNECTIONS = 1, 32
TARGET = 0.75


def main() -> None:
    env = {"SERVIO_DATABASE_URL": DATABASE_URL, "SERVIO_ENV": "test"}
    subprocess.run(
        [str(VENV_BIN / "servio"), "migrate", "upgrade"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    servio_port, bare_port = 18080, 18081
    servio_url = f"http://127.0.0.1:{servio_port}/healthz"
    bare_url = f"http://127.0.0.1:{bare_port}/healthz"
    servio_cmd = [
        str(VENV_BIN / "servio"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(servio_port),
    ]
    bare_cmd = [str(VENV_BIN / "python"), "bench/bare_app.py", str(bare_port)]
    runs: dict[str, list] = {"servio": [], "bare": []}
    with (
        server(servio_cmd, env, "http_baseline-servio.log", servio_url),
        server(bare_cmd, {}, "http_baseline-bare.log", bare_url),
    ):
        for url in (servio_url, bare_url):  # warm up
            run_wrk(url, threads=THREADS, connections=CONNECTIONS, seconds=2)
        for _ in range(ROUNDS):
            runs["servio"].append(
                run_wrk(servio_url, threads=THREADS, connections=CONNECTIONS, seconds=SECONDS)
            )
            runs["bare"].append(
                run_wrk(bare_url, threads=THREADS, connections=CONNECTIONS, seconds=SECONDS)
            )
    servio, bare = median_run(runs["servio"]), median_run(runs["bare"])
    result = write_result(
        "http_baseline",
        value=servio["requests_per_second"],
        unit="req/s",
        baseline=bare["requests_per_second"],
        params={
            "endpoint": "GET /healthz",
            "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s",
            "rounds": ROUNDS,
            "aggregate": "median of rounds, servio and bare alternating",
            "servio": servio,
            "bare": bare,
            "database": "postgresql",
            "target": f"ratio >= {TARGET}",
        },
    )
    print(
        f"http_baseline: servio {servio['requests_per_second']:.0f} req/s "
        f"(p50 {servio['p50_ms']:.2f} ms, p95 {servio['p95_ms']:.2f} ms, "
        f"p99 {servio['p99_ms']:.2f} ms) vs bare {bare['requests_per_second']:.0f} req/s "
        f"(p50 {bare['p50_ms']:.2f} ms, p95 {bare['p95_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms)"
        f" -> ratio {result['ratio']} (target >= {TARGET})"
    )


if __name__ == "__main__":
    main()
