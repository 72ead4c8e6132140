"""The embedded default takes concurrent writers: on a SQLite file, thirty writers of
mixed kinds (public leads, bookings racing for slots, settings changes by the owner,
worker heartbeats, outbox claims, whole worker passes as the demo runs them) keep going
for a while, and none of them ever meets "database is locked" or a 5xx.

``SERVIO_SOAK=1`` makes it a one-minute soak; by default it runs a few seconds.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from servio.app.container import Container
from servio.domains.intake.models import Lead
from servio.platform.db import Database, utcnow
from servio.platform.db.sqlite import waiting_writers
from servio.platform.logging import configure_logging
from servio.platform.outbox import OutboxMessage
from servio.platform.worker import Worker, WorkerHeartbeat, WorkRegistry
from tests.conftest import make_settings
from tests.support import databases
from tests.support.app import app_client, app_of
from tests.support.identity import Account, register

SOAK_SECONDS = 60.0 if os.environ.get("SERVIO_SOAK") == "1" else 8.0
LOCKED = "database is locked"
WORKING_WEEK = [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(7)]


@dataclass
class Tally:
    """What the writers saw: every answer by kind and status, and what went wrong."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lead_ids: set[uuid.UUID] = field(default_factory=set)
    worker_rounds: int = 0

    def answer(self, kind: str, r: httpx.Response, expected: set[int]) -> None:
        self.statuses[(kind, r.status_code)] += 1
        if r.status_code not in expected or LOCKED in r.text:
            self.failures.append(f"{kind} {r.status_code}: {r.text[:300]}")


async def _open_business(api: httpx.AsyncClient) -> Account:
    owner = await register(api, "owner@busy.example.com", "Busy Homes")
    team = {"name": "Team A", "kind": "team", "hours": WORKING_WEEK}
    for name in ("Team A", "Team B"):
        r = await api.post("/v1/admin/resources", json=team | {"name": name}, headers=owner.auth)
        assert r.status_code == 201, r.text
    return owner


async def _free_starts(api: httpx.AsyncClient, owner: Account) -> list[dict[str, Any]]:
    """Free one-hour starts over the coming week, as the app offers them."""
    r = await api.get(
        "/v1/slots",
        params={
            "org": owner.org_slug,
            "date": (utcnow() + timedelta(days=1)).date().isoformat(),
            "days": 7,
            "duration_minutes": 60,
        },
    )
    assert r.status_code == 200, r.text
    slots: list[dict[str, Any]] = r.json()["slots"]
    return slots


def _until(deadline: float) -> Callable[[], bool]:
    loop = asyncio.get_running_loop()
    return lambda: loop.time() < deadline


async def _leads(api: httpx.AsyncClient, owner: Account, n: int, go: Any, t: Tally) -> None:
    for i in itertools.count():
        if not go():
            return
        r = await api.post(
            f"/v1/leads?org={owner.org_slug}",
            json={
                "name": f"Lead {n}-{i}",
                "email": f"lead{n}.{i}@example.com",
                "phone": "+1 780 555 0100",
                "estimate_request": {"beds": 2, "baths": 1},
            },
        )
        t.answer("lead", r, {201})
        if r.status_code == 201:
            t.lead_ids.add(uuid.UUID(r.json()["id"]))


async def _bookings(api: httpx.AsyncClient, owner: Account, n: int, go: Any, t: Tally) -> None:
    rng = random.Random(n)
    while go():
        slots = await _free_starts(api, owner)
        if not slots:
            return
        slot = rng.choice(slots)
        r = await api.post(
            f"/v1/bookings?org={owner.org_slug}",
            json={
                "start": slot["start"],
                "duration_minutes": 60,
                "resource_id": slot["resource_id"],
                "customer": {"name": f"Client {n}", "email": f"client{n}@example.com"},
            },
        )
        t.answer("booking", r, {201, 409})


async def _settings(api: httpx.AsyncClient, owner: Account, n: int, go: Any, t: Tally) -> None:
    for i in itertools.count():
        if not go():
            return
        change = {"bookings.reminder_hours": 12 + (n + i) % 24}
        r = await api.patch("/v1/admin/settings", json=change, headers=owner.auth)
        t.answer("settings", r, {200})


async def _heartbeats(db: Database, n: int, go: Any, t: Tally) -> None:
    worker = Worker(db, WorkRegistry(), worker_id=f"soak-heartbeat-{n}")
    while go():
        await _survive(t, "heartbeat", worker.heartbeat())


async def _claims(container: Container, db: Database, n: int, go: Any, t: Tally) -> None:
    dispatcher = container.dispatcher(f"soak-claims-{n}")
    dispatcher.db = db
    while go():
        await _survive(t, "outbox", dispatcher.drain())
        await asyncio.sleep(0.05)


async def _demo_worker(container: Container, db: Database, go: Any, t: Tally) -> None:
    """The demo's in-process worker: heartbeats and every registered item, on its own
    engine over the same file."""
    runner = container.worker(db)
    while go():
        await _survive(t, "worker", runner.heartbeat())
        await _survive(t, "worker", runner.run_pass())
        t.worker_rounds += 1


async def _survive(t: Tally, kind: str, work: Awaitable[object]) -> None:
    try:
        await work
    except Exception as exc:  # every failure is the finding
        t.failures.append(f"{kind}: {exc!r}")


async def test_thirty_mixed_writers_on_a_sqlite_file_never_find_it_locked(
    tmp_path: Path,
) -> None:
    url = databases.create_sqlite_database(tmp_path)
    await asyncio.to_thread(databases.migrate, url)
    settings = make_settings(url, var_dir=tmp_path / "var", rate_limit_enabled=False)
    logs = io.StringIO()
    tally = Tally()
    worker_db = Database(url)
    try:
        async with app_client(settings, raise_errors=False) as api:
            configure_logging("info", "json", stream=logs, access_log=False)
            container: Container = app_of(api).state.container
            owner = await _open_business(api)
            assert await _free_starts(api, owner), "the week offers no free hour"
            go = _until(asyncio.get_running_loop().time() + SOAK_SECONDS)
            writers = [
                *(_leads(api, owner, n, go, tally) for n in range(10)),
                *(_bookings(api, owner, n, go, tally) for n in range(8)),
                *(_settings(api, owner, n, go, tally) for n in range(4)),
                *(_heartbeats(worker_db, n, go, tally) for n in range(4)),
                *(_claims(container, worker_db, n, go, tally) for n in range(3)),
                _demo_worker(container, worker_db, go, tally),
            ]
            assert len(writers) == 30
            await asyncio.gather(*writers)
    finally:
        configure_logging()
    try:
        async with worker_db.unit_of_work(system=True) as s:
            stored = set(await s.scalars(select(Lead.id).where(Lead.id.in_(tally.lead_ids))))
            beats = await s.scalar(select(func.count()).select_from(WorkerHeartbeat))
            outbox_errors = list(
                await s.scalars(
                    select(OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None))
                )
            )
    finally:
        await worker_db.dispose()

    logged = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    locked_logs = [e for e in logged if LOCKED in json.dumps(e)]
    assert tally.failures == [], (
        f"{len(tally.failures)} failures, {len(locked_logs)} log lines about a locked "
        f"database; answers {dict(tally.statuses)}; first: {tally.failures[:3]}"
    )
    server_errors = {k: n for k, n in tally.statuses.items() if k[1] >= 500}
    assert server_errors == {}
    assert locked_logs == []
    assert [e for e in logged if e.get("level") in {"error", "critical"}] == []
    assert [e for e in outbox_errors if LOCKED in str(e)] == []
    assert tally.statuses[("lead", 201)] >= 10
    assert tally.statuses[("booking", 201)] >= 1
    assert tally.statuses[("settings", 200)] >= 4
    assert stored == tally.lead_ids
    assert beats == 4 + 1
    assert tally.worker_rounds >= 1


async def test_public_reads_answer_while_another_connection_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    url = databases.create_sqlite_database(tmp_path)
    await asyncio.to_thread(databases.migrate, url)
    settings = make_settings(url, var_dir=tmp_path / "var", rate_limit_enabled=False)
    holder_db = Database(url)
    locked, release = asyncio.Event(), asyncio.Event()

    async def hold_the_write_lock() -> None:
        async with holder_db.unit_of_work(system=True) as s:
            await s.execute(select(func.count()).select_from(Lead))  # BEGIN IMMEDIATE
            locked.set()
            await release.wait()

    try:
        async with app_client(settings, raise_errors=False) as api:
            owner = await _open_business(api)
            assert await _free_starts(api, owner)
            holder = asyncio.create_task(hold_the_write_lock())
            await locked.wait()
            began = asyncio.get_running_loop().time()
            slots = await _free_starts(api, owner)
            ready = await api.get("/readyz")
            waited = asyncio.get_running_loop().time() - began
            lead = asyncio.create_task(
                api.post(
                    f"/v1/leads?org={owner.org_slug}",
                    json={"name": "Queued Lead", "email": "queued@example.com"},
                )
            )
            await asyncio.sleep(0.5)
            lead_waited = not lead.done()
            release.set()
            await holder
            created = await lead
    finally:
        release.set()
        await holder_db.dispose()
    assert waited < 3, f"reads queued behind the writer for {waited:.1f} s"
    assert slots
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == {"status": "ok"}
    assert lead_waited  # a writer waits its turn ...
    assert created.status_code == 201, created.text  # ... and then goes through


async def _queued(file: Path, writers: int) -> None:
    for _ in range(2000):
        if waiting_writers(str(file)) >= writers:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{writers} writers never queued for the write lock")


async def test_writers_of_one_process_take_the_write_lock_in_the_order_they_asked(
    tmp_path: Path,
) -> None:
    file = tmp_path / "queue.db"
    db = Database(f"sqlite+aiosqlite:///{file}")
    served: list[int] = []
    first_holds, release = asyncio.Event(), asyncio.Event()

    async def write(n: int) -> None:
        async with db.unit_of_work() as s:
            await s.execute(text("INSERT INTO turns VALUES (:n)"), {"n": n})
            served.append(n)
            if n == 0:
                first_holds.set()
                await release.wait()
            await asyncio.sleep(0.01)  # a short transaction: newcomers arrive meanwhile

    try:
        async with db.unit_of_work() as s:
            await s.execute(text("CREATE TABLE turns (n INTEGER)"))
        writers = [asyncio.create_task(write(0))]
        await first_holds.wait()
        for n in range(1, 8):
            writers.append(asyncio.create_task(write(n)))
            await _queued(file, n)  # each one waits, in turn, behind the others
        release.set()
        await asyncio.gather(*writers)
        async with db.reader() as s:
            stored = list(await s.scalars(text("SELECT n FROM turns ORDER BY rowid")))
    finally:
        release.set()
        await db.dispose()
    assert served == list(range(8))
    assert stored == list(range(8))
