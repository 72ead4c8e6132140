"""A large business for the scheduling and booking benches, on PostgreSQL: the org
``bench-large`` (America/Edmonton, CAD), 50 resources with weekly hours, and 100,000
bookings with their reservations, from about two and a half years back up to the
60-day booking horizon.

Rows go in through the application role (row-level security applies) as multi-row
``INSERT ... SELECT FROM unnest(...)`` statements, 5,000 bookings at a time, with a
progress bar. Idempotent: a run that finds the org seeded with the same number of
bookings in the last week changes nothing; otherwise the org's bookings and
reservations are replaced. Every layout is deterministic (a seeded generator), and no
two active reservations of a resource overlap (the exclusion constraint holds).

    python bench/seed_large.py [--resources 50] [--bookings 100000] [--force]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

import servio.app.models  # noqa: F401 - every table, so foreign keys resolve
from common import VENV_BIN
from servio.domains.bookings.models import Booking
from servio.domains.identity import service as identity
from servio.domains.scheduling import service as scheduling
from servio.domains.scheduling.models import Resource
from servio.platform.db import Database

DATABASE_URL = os.environ.get(
    "SERVIO_BENCH_DATABASE_URL", "postgresql+asyncpg://servio_app@127.0.0.1:5432/servio_bench"
)
ORG_SLUG = "bench-large"
TIMEZONE = "America/Edmonton"
RESOURCES = 50
BOOKINGS = 100_000
HORIZON_DAYS = 60  # the product's default booking horizon
BUFFER_AFTER = timedelta(minutes=30)  # the product's default travel buffer
BATCH = 5_000
MARKER = "bench.seed_large"
REUSE_FOR = timedelta(days=7)
SEED = 20_261_126

# A resource's working day follows one of these plans: jobs as (minutes after opening,
# length in minutes). With the 30-minute buffer after each job none overlap, every plan
# fits a 9-hour day, and each leaves part of the day free for new bookings.
DAY_PLANS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 180), (240, 120)),
    ((60, 240),),
    ((0, 120), (180, 150), (360, 120)),
    ((120, 210), (390, 120)),
    ((30, 150),),
)
ADD_ONS = ("oven", "fridge", "windows_up_to_5", "cabinets")


def weekly_hours(index: int) -> dict[int, list[tuple[time, time]]]:
    """Most teams work Monday to Saturday 09:00-18:00; every fifth Monday to Friday 07-16."""
    if index % 5 == 4:
        return {day: [(time(7), time(16))] for day in range(5)}
    return {day: [(time(9), time(18))] for day in range(6)}


@dataclass(frozen=True)
class Job:
    resource_id: uuid.UUID
    start: datetime  # aware, UTC
    minutes: int
    status: str


def _status(rng: random.Random, future: bool) -> str:
    roll = rng.random()
    if future:
        return "CONFIRMED" if roll < 0.75 else "PENDING" if roll < 0.9 else "CANCELLED"
    if roll < 0.82:
        return "COMPLETED"
    return "CANCELLED" if roll < 0.92 else "NO_SHOW" if roll < 0.96 else "EXPIRED"


def plan_jobs(resources: list[uuid.UUID], total: int, today: date) -> Iterator[Job]:
    """``total`` jobs, walking back day by day from the horizon, resource by resource."""
    tz, rng, made = ZoneInfo(TIMEZONE), random.Random(SEED), 0
    hours = [weekly_hours(i) for i in range(len(resources))]
    day = today + timedelta(days=HORIZON_DAYS)
    while True:
        for index, resource_id in enumerate(resources):
            windows = hours[index].get(day.weekday())
            if not windows:
                continue
            opens = datetime.combine(day, windows[0][0], tzinfo=tz)
            for offset, minutes in rng.choice(DAY_PLANS):
                start = (opens + timedelta(minutes=offset)).astimezone(UTC)
                yield Job(resource_id, start, minutes, _status(rng, day > today))
                made += 1
                if made == total:
                    return
        day -= timedelta(days=1)


def _rows(org_id: uuid.UUID, jobs: list[Job], seeded_at: datetime) -> dict[str, list[Any]]:
    """Column arrays for one batch: reservations first, then their bookings."""
    rng = random.Random(int(jobs[0].start.timestamp()))
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "rid",
            "resource",
            "r_start",
            "r_end",
            "kind",
            "active",
            "expires",
            "created",
            "bid",
            "name",
            "email",
            "start",
            "end",
            "status",
            "inputs",
            "subtotal",
            "deposit",
            "deposit_cents",
            "reasons",
            "cancel",
        )
    }
    for job in jobs:
        end = job.start + timedelta(minutes=job.minutes)
        created = min(job.start, seeded_at) - timedelta(days=rng.randint(1, 20))
        customer = rng.randint(1, 20_000)
        beds, baths = rng.randint(1, 5), rng.randint(1, 3)
        add_ons = sorted(rng.sample(ADD_ONS, rng.randint(0, 2)))
        subtotal = job.minutes * 70 * 100 // 60 + 3_000 * len(add_ons)
        deposit = job.status != "EXPIRED" and rng.random() < 0.4
        hold = job.status == "EXPIRED"
        cols["rid"].append(uuid.uuid4())
        cols["resource"].append(job.resource_id)
        cols["r_start"].append(job.start)
        cols["r_end"].append(end + BUFFER_AFTER)
        cols["kind"].append("hold" if hold else "booking")
        cols["active"].append(job.status not in ("CANCELLED", "EXPIRED"))
        cols["expires"].append(created + timedelta(minutes=30) if hold else None)
        cols["created"].append(created)
        cols["bid"].append(uuid.uuid4())
        cols["name"].append(f"Customer {customer}")
        cols["email"].append(f"customer{customer}@example.com")
        cols["start"].append(job.start)
        cols["end"].append(end)
        cols["status"].append(job.status)
        cols["inputs"].append(json.dumps({"beds": beds, "baths": baths, "add_ons": add_ons}))
        cols["subtotal"].append(subtotal)
        cols["deposit"].append(deposit or hold)
        cols["deposit_cents"].append(min(max(subtotal // 4, 5_000), 20_000) if deposit else 0)
        cols["reasons"].append(json.dumps(["high_value"] if deposit else []))
        cols["cancel"].append("Plans changed" if job.status == "CANCELLED" else None)
    return cols


INSERT_RESERVATIONS = text(
    "INSERT INTO reservations (id, org_id, created_at, resource_id, starts_at, ends_at, kind,"
    " ref_id, active, expires_at)"
    " SELECT t.rid, :org, t.created, t.resource, t.r_start, t.r_end, t.kind, t.bid, t.active,"
    " t.expires FROM unnest(CAST(:rid AS uuid[]), CAST(:created AS timestamptz[]),"
    " CAST(:resource AS uuid[]), CAST(:r_start AS timestamptz[]),"
    " CAST(:r_end AS timestamptz[]), CAST(:kind AS text[]), CAST(:bid AS uuid[]),"
    " CAST(:active AS boolean[]), CAST(:expires AS timestamptz[]))"
    " AS t(rid, created, resource, r_start, r_end, kind, bid, active, expires)"
)
INSERT_BOOKINGS = text(
    "INSERT INTO bookings (id, org_id, created_at, updated_at, resource_id, reservation_id,"
    " name, email, starts_at, ends_at, status, inputs, subtotal_cents, currency,"
    " deposit_required, deposit_cents, deposit_reasons, hold_expires_at, cancel_reason,"
    " version)"
    " SELECT t.bid, :org, t.created, t.created, t.resource, t.rid, t.name, t.email, t.start,"
    " t.end_, t.status, CAST(t.inputs AS json), t.subtotal, 'CAD', t.deposit,"
    " t.deposit_cents, CAST(t.reasons AS json), t.expires, t.cancel, 1"
    " FROM unnest(CAST(:bid AS uuid[]), CAST(:created AS timestamptz[]),"
    " CAST(:resource AS uuid[]), CAST(:rid AS uuid[]), CAST(:name AS text[]),"
    " CAST(:email AS text[]), CAST(:start AS timestamptz[]), CAST(:end AS timestamptz[]),"
    " CAST(:status AS text[]), CAST(:inputs AS text[]), CAST(:subtotal AS integer[]),"
    " CAST(:deposit AS boolean[]), CAST(:deposit_cents AS integer[]),"
    " CAST(:reasons AS text[]), CAST(:expires AS timestamptz[]), CAST(:cancel AS text[]))"
    " AS t(bid, created, resource, rid, name, email, start, end_, status, inputs, subtotal,"
    " deposit, deposit_cents, reasons, expires, cancel)"
)


async def ensure_org(db: Database) -> uuid.UUID:
    async with db.unit_of_work(system=True) as s:
        org = await identity.ensure_org(
            s,
            slug=ORG_SLUG,
            name="Bench Large Cleaning",
            vertical="cleaning",
            timezone=TIMEZONE,
            currency="CAD",
        )
        return org.id


async def ensure_resources(s: AsyncSession, org_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """Teams ``Team 01`` .. ``Team NN`` with their hours, added when missing."""
    rows = await s.execute(select(Resource.name, Resource.id).where(Resource.org_id == org_id))
    existing: dict[str, uuid.UUID] = {row.name: row.id for row in rows}
    ids = []
    for index in range(count):
        name = f"Team {index + 1:02d}"
        if name not in existing:
            row = await scheduling.add_resource(s, org_id, name, "team", weekly_hours(index))
            existing[name] = row.id
        ids.append(existing[name])
    await identity.put_setting(s, org_id, "scheduling.buffer_after_minutes", 30)
    return ids


async def _is_seeded(s: AsyncSession, org_id: uuid.UUID, total: int, now: datetime) -> bool:
    marker = (await identity.org_settings(s, org_id)).get(MARKER)
    if not isinstance(marker, dict) or marker.get("bookings") != total:
        return False
    if now - datetime.fromisoformat(marker["seeded_at"]) > REUSE_FOR:
        return False
    count = await s.scalar(
        select(func.count()).select_from(Booking).where(Booking.org_id == org_id)
    )
    return count == total


async def seed(resources: int, total: int, force: bool, console: Console) -> uuid.UUID:
    db = Database(DATABASE_URL)
    now = datetime.now(UTC)
    try:
        org_id = await ensure_org(db)
        async with db.unit_of_work(org_id) as s:
            ids = await ensure_resources(s, org_id, resources)
            if not force and await _is_seeded(s, org_id, total, now):
                console.print(f"{ORG_SLUG}: {resources} resources, {total:,} bookings (kept)")
                return org_id
            await s.execute(text("DELETE FROM outbox WHERE org_id = :org"), {"org": org_id})
            await s.execute(text("DELETE FROM bookings WHERE org_id = :org"), {"org": org_id})
            await s.execute(text("DELETE FROM reservations WHERE org_id = :org"), {"org": org_id})
        await _insert(db, org_id, ids, total, now, console)
        async with db.engine.begin() as conn:
            for table in ("reservations", "bookings"):
                await conn.execute(text(f"ANALYZE {table}"))
        async with db.unit_of_work(org_id) as s:
            await identity.put_setting(
                s, org_id, MARKER, {"bookings": total, "seeded_at": now.isoformat()}
            )
        return org_id
    finally:
        await db.dispose()


async def _insert(
    db: Database,
    org_id: uuid.UUID,
    resources: list[uuid.UUID],
    total: int,
    now: datetime,
    console: Console,
) -> None:
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    started = asyncio.get_running_loop().time()
    jobs = plan_jobs(resources, total, now.astimezone(ZoneInfo(TIMEZONE)).date())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{ORG_SLUG}: bookings", total=total, rate="-")
        done = 0
        while batch := [job for _, job in zip(range(BATCH), jobs, strict=False)]:
            cols = _rows(org_id, batch, now)
            async with db.unit_of_work(org_id) as s:
                await s.execute(INSERT_RESERVATIONS, {"org": org_id, **cols})
                await s.execute(INSERT_BOOKINGS, {"org": org_id, **cols})
            done += len(batch)
            elapsed = asyncio.get_running_loop().time() - started
            progress.update(task, advance=len(batch), rate=f"{done / elapsed:,.0f}")


def migrate() -> None:
    subprocess.run(
        [str(VENV_BIN / "servio"), "migrate", "upgrade"],
        env={**os.environ, "SERVIO_DATABASE_URL": DATABASE_URL, "SERVIO_ENV": "test"},
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=RESOURCES)
    parser.add_argument("--bookings", type=int, default=BOOKINGS)
    parser.add_argument("--force", action="store_true", help="replace the bookings anyway")
    args = parser.parse_args()
    console = Console()
    migrate()
    started = datetime.now(UTC)
    asyncio.run(seed(args.resources, args.bookings, args.force, console))
    seconds = (datetime.now(UTC) - started).total_seconds()
    console.print(f"seed_large: done in {seconds:.1f}s")


if __name__ == "__main__":
    main()
