"""The staff console's dashboard (``GET /app``) on PostgreSQL with a month of demo data
(``servio seed demo``: the cleaning company's past 30 days of leads and bookings and
the next two weeks), each figure beside a baseline from the same run:

* ``dashboard``: p95 latency of ``GET /app`` for the signed-in demo owner (session
  cookie, as a browser sends it), as a ratio to the p95 of ``GET /healthz`` on the same
  server under the same load; p50/p99 and throughput of both in ``params``.
* ``dashboard_page_weight``: bytes transferred for the page's HTML, CSS and scripts as
  served to a browser that accepts gzip (images aside), against the 200 KB budget.

Assert-free: a benchmark reports, it never fails.
"""

from __future__ import annotations

import os
import re
import subprocess

import httpx

from common import VENV_BIN, median_run, run_wrk, server, write_result
from servio.platform.config import DEFAULT_DEMO_PASSWORD

DATABASE_URL = os.environ.get(
    "SERVIO_BENCH_DATABASE_URL", "postgresql+asyncpg://servio_app@127.0.0.1:5432/servio_bench"
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
THREADS, CONNECTIONS = 1, 8
PORT = 18086
OWNER = "owner@sparkle-clean.example.com"
BUDGET_BYTES = 200 * 1024
ASSET = re.compile(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"')


def prepare(env: dict[str, str]) -> None:
    """The schema at head and the demo businesses with their month of history."""
    for args in (["migrate", "upgrade"], ["seed", "demo"]):
        subprocess.run(
            [str(VENV_BIN / "servio"), *args],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )


def sign_in(base: str) -> dict[str, str]:
    """The console's cookies after signing in through the login form."""
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/app/login", data={"email": OWNER, "password": DEFAULT_DEMO_PASSWORD})
        if r.status_code != 303:
            raise RuntimeError(f"sign-in failed: {r.status_code} {r.text[:200]}")
        # The session cookie a page request carries (refresh cookies are path-scoped).
        return {c.name: c.value for c in client.cookies.jar if c.name == "servio_access"}


def transferred(client: httpx.Client, path: str) -> tuple[int, str]:
    """Bytes on the wire for ``path`` (body as sent, gzip or not) and its encoding."""
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as r:
        r.raise_for_status()
        size = sum(len(chunk) for chunk in r.iter_raw())
        return size, r.headers.get("content-encoding", "identity")


def page_weight(base: str, cookies: dict[str, str]) -> dict[str, object]:
    with httpx.Client(base_url=base, timeout=30, cookies=cookies) as client:
        html_bytes, html_encoding = transferred(client, "/app")
        html = client.get("/app", headers={"Accept": "text/html"}).text
        files: dict[str, dict[str, object]] = {
            "/app": {"bytes": html_bytes, "encoding": html_encoding}
        }
        for url in ASSET.findall(html):
            size, encoding = transferred(client, url)
            files[url.split("?")[0]] = {"bytes": size, "encoding": encoding}
    total = sum(int(str(f["bytes"])) for f in files.values())
    return {"total_bytes": total, "files": files}


def main() -> None:
    env = {
        "SERVIO_DATABASE_URL": DATABASE_URL,
        "SERVIO_ENV": "test",
        "SERVIO_ACCESS_LOG": "true",
        # Throughput, not abuse: the per-address and per-principal limits would refuse.
        "SERVIO_RATE_LIMIT_ENABLED": "false",
    }
    prepare(env)
    base = f"http://127.0.0.1:{PORT}"
    cmd = [str(VENV_BIN / "servio"), "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    runs: dict[str, list] = {"dashboard": [], "healthz": [], "dashboard_c8": [], "healthz_c8": []}
    with server(cmd, env, "dashboard-servio.log", f"{base}/healthz"):
        cookies = sign_in(base)
        browser = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Accept": "text/html",
        }
        weight = page_weight(base, cookies)
        for path, headers in (("/app", browser), ("/healthz", None)):
            run_wrk(f"{base}{path}", threads=1, connections=CONNECTIONS, seconds=2, headers=headers)
        for _ in range(ROUNDS):
            for name, path, headers in (
                ("dashboard", "/app", browser),
                ("healthz", "/healthz", None),
            ):
                # Render time: one connection, nothing queued; throughput: CONNECTIONS.
                runs[name].append(
                    run_wrk(
                        f"{base}{path}", threads=1, connections=1, seconds=SECONDS, headers=headers
                    )
                )
                runs[f"{name}_c8"].append(
                    run_wrk(
                        f"{base}{path}",
                        threads=1,
                        connections=CONNECTIONS,
                        seconds=SECONDS,
                        headers=headers,
                    )
                )
    report({name: median_run(r) for name, r in runs.items()}, weight)


def report(figures: dict[str, dict[str, float]], weight: dict) -> None:
    dashboard, healthz = figures["dashboard"], figures["healthz"]
    busy, busy_healthz = figures["dashboard_c8"], figures["healthz_c8"]
    result = write_result(
        "dashboard",
        value=dashboard["p95_ms"],
        unit="ms (p95)",
        baseline=healthz["p95_ms"],
        params={
            "endpoint": "GET /app (signed-in demo owner, session cookie)",
            "baseline": "GET /healthz on the same server, same load",
            "data": "servio seed demo: sparkle-clean's past 30 days and next 14 days",
            "latency_load": f"wrk -t1 -c1 -d{SECONDS}s",
            "throughput_load": f"wrk -t1 -c{CONNECTIONS} -d{SECONDS}s",
            "rounds": ROUNDS,
            "dashboard": dashboard,
            "healthz": healthz,
            "dashboard_throughput": busy,
            "healthz_throughput": busy_healthz,
            "throughput_ratio": round(
                busy["requests_per_second"] / busy_healthz["requests_per_second"], 3
            ),
            "page_weight_bytes": weight["total_bytes"],
            "database": "postgresql",
        },
    )
    size = write_result(
        "dashboard_page_weight",
        value=weight["total_bytes"],
        unit="bytes",
        baseline=BUDGET_BYTES,
        params={
            "page": "GET /app with its stylesheets and scripts, Accept-Encoding: gzip",
            "baseline": "the 200 KB budget (images aside)",
            "files": weight["files"],
        },
    )
    print(
        f"dashboard (1 connection): p50 {dashboard['p50_ms']:.2f} ms, p95 "
        f"{dashboard['p95_ms']:.2f} ms, p99 {dashboard['p99_ms']:.2f} ms vs /healthz p95 "
        f"{healthz['p95_ms']:.2f} ms -> ratio {result['ratio']}; throughput at "
        f"{CONNECTIONS} connections {busy['requests_per_second']:.0f} req/s vs /healthz "
        f"{busy_healthz['requests_per_second']:.0f} req/s ({busy['errors']} errors)"
    )
    print(
        f"dashboard page weight: {weight['total_bytes'] / 1024:.1f} KB transferred "
        f"(budget {BUDGET_BYTES // 1024} KB) -> ratio {size['ratio']}"
    )


if __name__ == "__main__":
    main()
