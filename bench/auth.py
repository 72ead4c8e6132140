"""Authentication cost, each figure beside a baseline from the same run:

* ``auth_login``: sign-ins per second through ``POST /v1/auth/login`` (argon2 verify,
  lockout bookkeeping, a new session) beside raw pwdlib argon2 verifications per second
  in one thread of this process, with the production argon2 parameters.
* ``auth_me``: ``GET /v1/auth/me`` with a bearer token (signature check plus the session,
  membership and org lookup on PostgreSQL) as a ratio to ``GET /healthz``; target >= 0.6.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import httpx

from common import VENV_BIN, median_run, run_wrk, server, write_result
from servio.platform.security.passwords import configure_hasher, hash_password, verify_password

DATABASE_URL = os.environ.get(
    "SERVIO_BENCH_DATABASE_URL", "postgresql+asyncpg://servio_app@127.0.0.1:5432/servio_bench"
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
THREADS, CONNECTIONS = 1, 32
LOGIN_CONCURRENCY = 8
PORT = 18082
PASSWORD = "bench-orchard-skylight-42"  # noqa: S105 - a throw-away bench account
ME_TARGET = 0.6


def raw_verifies_per_second(seconds: float) -> float:
    configure_hasher(time_cost=3, memory_kib=65536)  # the production default
    hashed = hash_password(PASSWORD)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        verify_password(PASSWORD, hashed)
        done += 1
    return done / (time.perf_counter() - started)


async def logins_per_second(base: str, email: str, seconds: float) -> tuple[float, int]:
    done = failed = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            r = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            done, failed = (done + 1, failed) if r.status_code == 200 else (done, failed + 1)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(LOGIN_CONCURRENCY)))
    return done / (time.perf_counter() - started), failed


def register(base: str) -> tuple[str, str]:
    email = f"bench-{time.time_ns()}@example.com"
    r = httpx.post(
        f"{base}/v1/auth/register",
        json={"email": email, "password": PASSWORD, "org_name": "Bench Co"},
        timeout=30,
    )
    r.raise_for_status()
    return email, r.json()["access_token"]


def main() -> None:
    env = {
        "SERVIO_DATABASE_URL": DATABASE_URL,
        "SERVIO_ENV": "test",
        "SERVIO_ACCESS_LOG": "true",
        # Throughput, not abuse: the per-address and per-principal limits would refuse.
        "SERVIO_RATE_LIMIT_ENABLED": "false",
    }
    subprocess.run(
        [str(VENV_BIN / "servio"), "migrate", "upgrade"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    base = f"http://127.0.0.1:{PORT}"
    cmd = [str(VENV_BIN / "servio"), "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    runs: dict[str, list] = {"me": [], "healthz": []}
    logins: list[float] = []
    raw: list[float] = []
    with server(cmd, env, "auth-servio.log", f"{base}/healthz"):
        email, token = register(base)
        auth = {"Authorization": f"Bearer {token}"}
        for path, headers in (("/v1/auth/me", auth), ("/healthz", None)):
            run_wrk(
                f"{base}{path}",
                threads=THREADS,
                connections=CONNECTIONS,
                seconds=2,
                headers=headers,
            )
        for _ in range(ROUNDS):
            runs["me"].append(
                run_wrk(
                    f"{base}/v1/auth/me",
                    threads=THREADS,
                    connections=CONNECTIONS,
                    seconds=SECONDS,
                    headers=auth,
                )
            )
            runs["healthz"].append(
                run_wrk(
                    f"{base}/healthz", threads=THREADS, connections=CONNECTIONS, seconds=SECONDS
                )
            )
        for _ in range(ROUNDS):
            rate, failed = asyncio.run(logins_per_second(base, email, SECONDS / 2))
            assert failed == 0, f"{failed} logins failed"
            logins.append(rate)
            raw.append(raw_verifies_per_second(SECONDS / 2))
    report(median_run(runs["me"]), median_run(runs["healthz"]), logins, raw)


def report(
    me: dict[str, float], healthz: dict[str, float], logins: list[float], raw: list[float]
) -> None:
    login_rate, raw_rate = sorted(logins)[len(logins) // 2], sorted(raw)[len(raw) // 2]
    login = write_result(
        "auth_login",
        value=round(login_rate, 1),
        unit="logins/s",
        baseline=round(raw_rate, 1),
        params={
            "endpoint": "POST /v1/auth/login",
            "load": f"{LOGIN_CONCURRENCY} concurrent clients, {SECONDS / 2:.0f}s x {ROUNDS}",
            "baseline": "pwdlib argon2 verify per second, one thread, same parameters",
            "argon2": "time_cost=3, memory_kib=65536 (production default)",
            "database": "postgresql",
        },
    )
    result = write_result(
        "auth_me",
        value=me["requests_per_second"],
        unit="req/s",
        baseline=healthz["requests_per_second"],
        params={
            "endpoint": "GET /v1/auth/me (bearer access token)",
            "baseline": "GET /healthz on the same server",
            "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s",
            "rounds": ROUNDS,
            "me": me,
            "healthz": healthz,
            "database": "postgresql",
            "target": f"ratio >= {ME_TARGET}",
        },
    )
    print(
        f"auth_login: {login_rate:.1f} logins/s vs raw argon2 {raw_rate:.1f} verifies/s "
        f"-> ratio {login['ratio']}"
    )
    print(
        f"auth_me: {me['requests_per_second']:.0f} req/s (p50 {me['p50_ms']:.2f} ms, "
        f"p95 {me['p95_ms']:.2f} ms, p99 {me['p99_ms']:.2f} ms) vs /healthz "
        f"{healthz['requests_per_second']:.0f} req/s -> ratio {result['ratio']} "
        f"(target >= {ME_TARGET})"
    )


if __name__ == "__main__":
    main()
