"""Shared bench helpers: free ports, servers as subprocesses, wrk runs, result files.

Every figure is paired with a baseline measured in the same run, because absolute
times on shared 2-core machines are noise; the ratio is what is compared over time.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
VENV_BIN = ROOT / ".venv" / "bin"

# wrk calls this script's done() once per run; it prints exact p50/p95/p99.
WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def server(
    command: list[str], env: dict[str, str], log_name: str, url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server as a subprocess until the block ends, its output in a log file;
    the block gets the process."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / log_name).open("w") as log:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            wait_until_up(url)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass(frozen=True)
class WrkRun:
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def run_wrk(
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: int,
    headers: dict[str, str] | None = None,
    script: Path = WRK_SCRIPT,
    script_args: list[str] | None = None,
) -> WrkRun:
    """One wrk run; ``script`` must print the WRK_JSON line (``wrk_report.lua``'s
    done()), ``script_args`` go to its init()."""
    header_args = [arg for k, v in (headers or {}).items() for arg in ("-H", f"{k}: {v}")]
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            *header_args,
            url,
            *(["--", *script_args] if script_args else []),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    line = next(x for x in output.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return WrkRun(
        requests_per_second=data["requests"] / (data["duration_us"] / 1_000_000),
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"] + data["non_2xx"],
    )


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes used so far (from /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def median_run(runs: list[WrkRun]) -> dict[str, float]:
    return {
        "requests_per_second": round(statistics.median(r.requests_per_second for r in runs), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in runs), 3),
        "p95_ms": round(statistics.median(r.p95_ms for r in runs), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in runs), 3),
        "errors": sum(r.errors for r in runs),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.machine(),
        # The run itself keeps about two cores busy; well above that, other work
        # competed for the CPUs and the figures are noise.
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def write_result(
    name: str, *, value: float, unit: str, baseline: float, params: dict[str, Any]
) -> dict[str, Any]:
    result = {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": round(value / baseline, 3) if baseline else None,
        "params": params,
        "machine": machine(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
