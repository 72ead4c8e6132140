"""Booking throughput on a large business: ``POST /v1/bookings`` from 50 concurrent
clients, each on its own free slot (``duration_minutes`` jobs on distinct
resource/start pairs of the org ``bench-large``: 50 resources, 100,000 bookings; see
``seed_large.py``), beside the database floor measured in the same run: the same rows
(reservation + booking) written by raw INSERTs from 50 concurrent asyncpg connections,
one transaction per booking, under row-level security like the server.

Each round books for ``BENCH_SECONDS``, reads back the rows the API wrote, deletes them,
writes them again raw, and deletes them again, so every round and both phases take the
same slots. ``value`` and ``baseline`` are the medians of ``BENCH_ROUNDS`` (default 2).

The same load then books with a deposit: the server takes deposits through a local
Stripe stand-in (every bench client is a new client, so every booking owes one), which
answers at once and then after ``BENCH_STRIPE_DELAY_MS`` (default 300 ms), as a real
provider may. The checkout call runs outside any transaction, so a slow provider costs
each booking its wait but does not hold the database. Results: ``bookings.json`` (no
Stripe key), ``bookings_deposit.json`` and ``bookings_deposit_slow_stripe.json``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import uvicorn
from rich.console import Console
from starlette.types import Receive, Scope, Send

import seed_large
from common import VENV_BIN, free_port, server, write_result
from servio.domains.identity import service as identity
from servio.domains.scheduling import service as scheduling
from servio.integrations.stripe_dev import DevStripe
from servio.platform.db import Database, utcnow

DATABASE_URL = seed_large.DATABASE_URL
RAW_DSN = DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = 50
DURATION_MINUTES = 60
EMAIL_DOMAIN = "bench-bookings.example.com"
PORT = 18084
STRIPE_DELAY_MS = int(os.environ.get("BENCH_STRIPE_DELAY_MS", "300"))
SET_ORG = "SELECT set_config('app.current_org_id', $1, true)"


@dataclass(frozen=True)
class Pair:
    resource_id: uuid.UUID
    start: datetime


async def free_pairs(db: Database, org_id: uuid.UUID) -> list[Pair]:
    """Free starts within the booking horizon, none of two on one resource overlapping
    (job plus buffers), in time order, so concurrent clients never compete for time."""
    now = utcnow()
    first = (now + timedelta(days=1)).date()
    job = timedelta(minutes=DURATION_MINUTES)
    async with db.unit_of_work(org_id) as s:
        rules = scheduling.rules_from(await identity.settings_of(s, org_id))
        found = []
        for offset in range(0, 56, scheduling.MAX_DAYS):
            days = min(scheduling.MAX_DAYS, 56 - offset)
            found += await scheduling.find_slots(
                s, org_id, first_day=first + timedelta(days=offset), days=days, duration=job
            )
    taken_until: dict[uuid.UUID, datetime] = {}
    pairs = []
    for slot in sorted(found, key=lambda x: x.start):
        if slot.start - rules.buffer_before >= taken_until.get(slot.resource_id, slot.start):
            taken_until[slot.resource_id] = slot.end + rules.buffer_after
            pairs.append(Pair(slot.resource_id, slot.start))
    return pairs


async def book(base: str, pairs: list[Pair], label: str) -> dict[str, Any]:
    """POST bookings from CLIENTS concurrent clients for SECONDS (or until the free pairs
    run out): bookings/s, the failures and the latency of a booking."""
    queue = iter(enumerate(pairs))
    latencies: list[float] = []
    failures: dict[int, int] = {}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        deadline = time.perf_counter() + SECONDS

        async def one_client() -> None:
            for n, pair in queue:
                if time.perf_counter() >= deadline:
                    return
                body = {
                    "name": f"Bench Client {n}",
                    "email": f"{label}-{n}@{EMAIL_DOMAIN}",
                    "start": pair.start.isoformat(),
                    "duration_minutes": DURATION_MINUTES,
                    "resource_id": str(pair.resource_id),
                }
                sent = time.perf_counter()
                r = await client.post(f"/v1/bookings?org={seed_large.ORG_SLUG}", json=body)
                if r.status_code == 201:
                    latencies.append(time.perf_counter() - sent)
                else:
                    failures[r.status_code] = failures.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "bookings": len(latencies),
        "seconds": round(elapsed, 2),
        "bookings_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
        "p95_ms": round(1000 * ordered[int(len(ordered) * 0.95)], 1),
        "failures": failures,
    }


async def take_back(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """Delete the bench's bookings (and their reservations and emails), returning each
    booking row with its reservation row."""
    async with conn.transaction():
        await conn.execute(SET_ORG, str(org_id))
        bookings = await conn.fetch(
            "DELETE FROM bookings WHERE org_id = $1 AND email LIKE $2 RETURNING *",
            org_id,
            f"%@{EMAIL_DOMAIN}",
        )
        reservations = await conn.fetch(
            "DELETE FROM reservations WHERE id = ANY($1::uuid[]) RETURNING *",
            [b["reservation_id"] for b in bookings],
        )
        await conn.execute("DELETE FROM outbox WHERE org_id = $1", org_id)
    by_id = {r["id"]: dict(r) for r in reservations}
    return [
        {"booking": dict(b), "reservation": by_id[b["reservation_id"]]}
        for b in sorted(bookings, key=lambda b: b["created_at"])
    ]


def _insert_sql(table: str, columns: list[str]) -> str:
    marks = ", ".join(f"${i + 1}" for i in range(len(columns)))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


async def raw_inserts(org_id: uuid.UUID, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The same rows, new ids, one transaction per booking from CLIENTS connections."""
    res_cols, book_cols = list(rows[0]["reservation"]), list(rows[0]["booking"])
    insert_reservation = _insert_sql("reservations", res_cols)
    insert_booking = _insert_sql("bookings", book_cols)
    queue = iter(rows)

    async def one_connection(conn: asyncpg.Connection) -> None:
        for row in queue:
            reservation = {**row["reservation"], "id": uuid.uuid4()}
            booking = {**row["booking"], "id": uuid.uuid4()}
            reservation["ref_id"], booking["reservation_id"] = booking["id"], reservation["id"]
            async with conn.transaction():
                await conn.execute(SET_ORG, str(org_id))
                await conn.execute(insert_reservation, *(reservation[c] for c in res_cols))
                await conn.execute(insert_booking, *(booking[c] for c in book_cols))

    connections = await asyncio.gather(*(asyncpg.connect(RAW_DSN) for _ in range(CLIENTS)))
    try:
        started = time.perf_counter()
        await asyncio.gather(*(one_connection(conn) for conn in connections))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(conn.close() for conn in connections))
    return {
        "bookings": len(rows),
        "seconds": round(elapsed, 2),
        "bookings_per_second": round(len(rows) / elapsed, 1),
    }


class SlowStripe:
    """The Stripe stand-in, answering each checkout request after ``delay`` seconds."""

    def __init__(self) -> None:
        self.stripe = DevStripe()
        self.delay = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/checkout/sessions":
            await asyncio.sleep(self.delay)
        await self.stripe.app(scope, receive, send)


@contextmanager
def stripe_served(fake: SlowStripe, port: int) -> Iterator[str]:
    config = uvicorn.Config(fake, host="127.0.0.1", port=port, log_level="warning")
    stand_in = uvicorn.Server(config)
    thread = threading.Thread(target=stand_in.run, daemon=True)
    thread.start()
    while not stand_in.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stand_in.should_exit = True
        thread.join(timeout=10)


async def measure(
    base: str, org_id: uuid.UUID, variants: dict[str, float | None]
) -> dict[str, dict[str, Any]]:
    """Rounds of API bookings and raw INSERTs for each variant (its Stripe delay in
    seconds, None for no Stripe)."""
    db = Database(DATABASE_URL)
    conn = await asyncpg.connect(RAW_DSN)
    out: dict[str, dict[str, Any]] = {}
    try:
        await take_back(conn, org_id)  # what an interrupted run left
        pairs = await free_pairs(db, org_id)
        for name, delay in variants.items():
            if delay is not None:
                STRIPE.delay = delay
            await book(base, pairs[-CLIENTS:], f"warmup-{name}")
            await take_back(conn, org_id)
            runs: dict[str, list[dict[str, Any]]] = {"api": [], "raw": []}
            for round_no in range(ROUNDS):
                runs["api"].append(await book(base, pairs, f"{name}-r{round_no}"))
                rows = await take_back(conn, org_id)
                runs["raw"].append(await raw_inserts(org_id, rows))
                await take_back(conn, org_id)
                print(f"  {name} round {round_no + 1}: api {runs['api'][-1]} raw {runs['raw'][-1]}")
            out[name] = {"free_pairs": len(pairs), **runs}
        return out
    finally:
        await conn.close()
        await db.dispose()


STRIPE = SlowStripe()


def main() -> None:
    seed_large.migrate()
    org_id = asyncio.run(
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
    cmd = [str(VENV_BIN / "servio"), "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    with server(cmd, env, "bookings-servio.log", f"{base}/healthz"):
        plain = asyncio.run(measure(base, org_id, {"bookings": None}))
    report("bookings", plain["bookings"], "no Stripe key")
    with stripe_served(STRIPE, free_port()) as stripe_url:
        env |= {
            "SERVIO_STRIPE_API_KEY": "sk_test_bench",
            "SERVIO_STRIPE_WEBHOOK_SECRET": "whsec_bench",
            "SERVIO_STRIPE_API_BASE": stripe_url,
        }
        slow = STRIPE_DELAY_MS / 1000
        variants = {"bookings_deposit": 0.0, "bookings_deposit_slow_stripe": slow}
        with server(cmd, env, "bookings-deposit-servio.log", f"{base}/healthz"):
            deposits = asyncio.run(measure(base, org_id, variants))
    report("bookings_deposit", deposits["bookings_deposit"], "deposit checkout, Stripe at once")
    report(
        "bookings_deposit_slow_stripe",
        deposits["bookings_deposit_slow_stripe"],
        f"deposit checkout, Stripe answering in {STRIPE_DELAY_MS} ms",
    )


def report(name: str, figures: dict[str, Any], stripe: str) -> None:
    api = statistics.median(r["bookings_per_second"] for r in figures["api"])
    raw = statistics.median(r["bookings_per_second"] for r in figures["raw"])
    result = write_result(
        name,
        value=round(api, 1),
        unit="bookings/s",
        baseline=round(raw, 1),
        params={
            "endpoint": f"POST /v1/bookings (duration_minutes, resource_id; {stripe})",
            "baseline": (
                "the same reservation + booking rows by raw INSERTs, one transaction per "
                f"booking, {CLIENTS} concurrent asyncpg connections, RLS applying"
            ),
            "data": (
                f"org {seed_large.ORG_SLUG}: {seed_large.RESOURCES} resources, "
                f"{seed_large.BOOKINGS:,} bookings (bench/seed_large.py)"
            ),
            "load": f"{CLIENTS} concurrent clients (httpx), {SECONDS}s per round, distinct slots",
            "rounds": ROUNDS,
            "aggregate": "median of rounds",
            **figures,
            "database": "postgresql",
        },
    )
    failures = sum(sum(r["failures"].values()) for r in figures["api"])
    p95 = statistics.median(r["p95_ms"] for r in figures["api"])
    print(
        f"{name}: {api:.1f} bookings/s (p95 {p95:.0f} ms, {failures} failed) vs raw INSERTs "
        f"{raw:.1f} bookings/s -> ratio {result['ratio']} "
        f"(load {result['machine']['loadavg_1m_at_end']})"
    )


if __name__ == "__main__":
    main()
