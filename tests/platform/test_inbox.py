"""The inbound event store: each (provider, event id) stored once, even when duplicates
arrive together; processing noted on the row; processed rows pruned after retention."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from servio.platform.db import Database, utcnow
from servio.platform.inbox import (
    EventNotVisible,
    ExternalEvent,
    mark_processed,
    prune_processed,
    record_event,
)
from servio.platform.jobs import JobRegistry
from servio.platform.jobs.retention import platform_jobs
from tests.conftest import make_settings
from tests.support.orgs import add_org

PAYLOAD = {"id": "evt_1", "type": "checkout.session.completed", "data": {"amount": 5000}}


async def stored(db: Database) -> list[ExternalEvent]:
    async with db.system_session() as session:
        return list(await session.scalars(select(ExternalEvent).order_by(ExternalEvent.event_id)))


async def record(db: Database, event_id: str, payload: object = PAYLOAD) -> tuple[uuid.UUID, bool]:
    async with db.unit_of_work(system=True) as session:
        event, new = await record_event(
            session, provider="stripe", event_id=event_id, payload=payload
        )
        return event.id, new


async def test_a_new_event_is_stored_and_a_redelivery_is_not(db: Database) -> None:
    first_id, first_new = await record(db, "evt_1")
    again_id, again_new = await record(db, "evt_1", payload={"changed": True})
    assert (first_new, again_new) == (True, False)
    assert again_id == first_id
    [event] = await stored(db)
    assert (event.provider, event.event_id, event.org_id) == ("stripe", "evt_1", None)
    assert event.payload == PAYLOAD  # the first delivery's payload is kept
    assert event.processed_at is None
    assert event.outcome is None


async def test_the_same_event_id_from_another_provider_is_another_event(db: Database) -> None:
    async with db.unit_of_work(system=True) as session:
        _, stripe_new = await record_event(session, provider="stripe", event_id="1", payload={})
        _, meta_new = await record_event(session, provider="whatsapp", event_id="1", payload={})
    assert (stripe_new, meta_new) == (True, True)
    assert len(await stored(db)) == 2


async def test_concurrent_duplicates_store_one_row_and_one_is_new(
    db: Database, db_url: str
) -> None:
    others = [Database(db_url) for _ in range(3)]  # other processes answering the same webhook
    try:
        results = await asyncio.gather(
            *(record(database, "evt_race") for database in [db, *others] * 3)
        )
    finally:
        for database in others:
            await database.dispose()
    assert sorted(new for _, new in results) == [False] * 11 + [True]
    assert len({event_id for event_id, _ in results}) == 1
    async with db.system_session() as session:
        assert await session.scalar(select(func.count()).select_from(ExternalEvent)) == 1


async def test_processing_is_noted_on_the_event(db: Database) -> None:
    async with db.unit_of_work(system=True) as session:
        event, _ = await record_event(session, provider="stripe", event_id="e", payload={})
        await mark_processed(session, event, "failed", error="no booking for session cs_1")
    [row] = await stored(db)
    assert row.processed_at is not None
    assert (row.outcome, row.error) == ("failed", "no booking for session cs_1")
    async with db.unit_of_work(system=True) as session:
        event, new = await record_event(session, provider="stripe", event_id="e", payload={})
        assert not new
        assert event.outcome == "failed"  # a redelivery sees how the first one went
        with pytest.raises(ValueError, match="outcome"):
            await mark_processed(session, event, "")


async def test_identifiers_are_checked(db: Database) -> None:
    async with db.unit_of_work(system=True) as session:
        with pytest.raises(ValueError, match="provider"):
            await record_event(session, provider="", event_id="e", payload={})
        with pytest.raises(ValueError, match="event_id"):
            await record_event(session, provider="stripe", event_id="e" * 256, payload={})


async def add_event(
    db: Database, event_id: str, *, received_days_ago: int, processed_days_ago: int | None
) -> None:
    now = utcnow()
    async with db.unit_of_work(system=True) as session:
        session.add(
            ExternalEvent(
                provider="stripe",
                event_id=event_id,
                payload={},
                received_at=now - timedelta(days=received_days_ago),
                processed_at=(
                    None if processed_days_ago is None else now - timedelta(days=processed_days_ago)
                ),
                outcome=None if processed_days_ago is None else "applied",
            )
        )


async def test_prune_deletes_only_processed_events_past_retention(db: Database) -> None:
    await add_event(db, "old-processed", received_days_ago=45, processed_days_ago=40)
    await add_event(db, "old-received-lately-processed", received_days_ago=45, processed_days_ago=2)
    await add_event(db, "recent-processed", received_days_ago=2, processed_days_ago=1)
    await add_event(db, "old-unprocessed", received_days_ago=90, processed_days_ago=None)
    assert await prune_processed(db, older_than=timedelta(days=30)) == 1
    assert [e.event_id for e in await stored(db)] == [
        "old-received-lately-processed",
        "old-unprocessed",
        "recent-processed",
    ]
    assert await prune_processed(db, older_than=timedelta(days=30)) == 0


async def test_the_inbox_prune_job_is_first_and_follows_the_retention_setting(
    db: Database, db_url: str
) -> None:
    jobs = JobRegistry()
    for job in platform_jobs(make_settings(db_url, inbox_retention_days=3)):
        jobs.register(job)
    assert [(job.name, job.schedule) for job in jobs] == [
        ("inbox.prune", "0 3 * * *"),
        ("idempotency.prune", "0 * * * *"),
        ("jobs.prune_runs", "30 3 * * *"),
    ]
    await add_event(db, "five-days", received_days_ago=5, processed_days_ago=5)
    await add_event(db, "two-days", received_days_ago=2, processed_days_ago=2)
    with pytest.raises(ValueError, match="inbox_retention_days"):
        make_settings(db_url, inbox_retention_days=0)
    prune = jobs.get("inbox.prune")
    assert prune is not None
    assert await prune.run(db) == 1
    assert [e.event_id for e in await stored(db)] == ["two-days"]


@pytest.mark.postgres
async def test_org_sessions_see_their_own_events_only(pg_db: Database) -> None:
    async with pg_db.unit_of_work(system=True) as session:
        org_a = (await add_org(session, "org-a")).id
        org_b = (await add_org(session, "org-b")).id
        await record_event(session, provider="stripe", event_id="unmatched", payload={})
        await record_event(session, provider="stripe", event_id="b-1", payload={}, org_id=org_b)
    async with pg_db.unit_of_work(org_a) as session:
        _, new = await record_event(
            session, provider="stripe", event_id="a-1", payload={}, org_id=org_a
        )
        assert new
        visible = set(await session.scalars(select(ExternalEvent.event_id)))
        assert visible == {"a-1"}
        with pytest.raises(EventNotVisible):  # an id another org's event already holds
            await record_event(session, provider="stripe", event_id="b-1", payload={}, org_id=org_a)
    assert {e.event_id for e in await stored(pg_db)} == {"unmatched", "b-1", "a-1"}
