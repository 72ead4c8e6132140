"""Verifying the audit log: an untouched log is OK; a row changed, re-sealed, deleted or
moved with raw SQL is named, by ``verify`` and by ``servio audit verify``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import JSON, Uuid, bindparam, select, text
from typer.testing import CliRunner, Result

from servio.cli import app
from servio.platform import audit
from servio.platform.audit import AuditEvent
from servio.platform.audit.sealing import seal
from servio.platform.db import Database
from tests.support.orgs import add_org


async def three_chains(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """Org A and org B with three events each, the deployment with one."""
    async with db.unit_of_work(system=True) as session:
        a = (await add_org(session, "org-a")).id
        b = (await add_org(session, "org-b")).id
        for org in (a, b, a, b, None, a, b):
            await audit.record(
                session,
                org_id=org,
                actor="system",
                action="iam.role.changed",
                target="user:1",
                after={"role": "staff", "note": "é ✓", "ratio": 0.1, "ids": [1, None]},
            )
    return a, b


async def tamper(db: Database, sql: str, **params: Any) -> None:
    types = {"after": JSON, "c": Uuid}
    statement = text(sql).bindparams(*(bindparam(name, type_=types.get(name)) for name in params))
    async with db.unit_of_work(system=True) as session:
        await session.execute(statement, params)


async def event_at(db: Database, chain: uuid.UUID, seq: int) -> AuditEvent:
    async with db.unit_of_work(system=True) as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.chain_id == chain, AuditEvent.seq == seq)
        )
    assert event is not None
    return event


async def test_an_untouched_log_verifies(db: Database) -> None:
    assert await audit.verify(db) == audit.VerifyResult(events=0, chains=0)
    await three_chains(db)
    result = await audit.verify(db)
    assert result.ok
    assert (result.events, result.chains) == (7, 3)


async def test_a_changed_snapshot_is_named(db: Database) -> None:
    _a, b = await three_chains(db)
    second = await event_at(db, b, 2)
    await tamper(
        db,
        """UPDATE audit_events SET after = '{"role": "owner"}' WHERE chain_id = :c AND seq = 2""",
        c=b,
    )
    assert (await audit.verify(db)).tamper == audit.Tamper(
        b, 2, second.id, "hash mismatch: the event differs from what was recorded"
    )


@pytest.mark.parametrize(
    "change",
    [
        "actor = 'user:someone-else'",
        "ip = '198.51.100.1'",
        "created_at = created_at + INTERVAL '1 hour'",
        "prev_hash = hash",
    ],
)
async def test_any_changed_field_is_named(db: Database, change: str) -> None:
    a, _b = await three_chains(db)
    if db.dialect == "sqlite" and "INTERVAL" in change:
        change = "created_at = '2020-01-01 00:00:00.000000'"
    await tamper(db, f"UPDATE audit_events SET {change} WHERE chain_id = :c AND seq = 1", c=a)
    found = (await audit.verify(db)).tamper
    assert found is not None
    assert (found.org_id, found.seq) == (a, 1)


async def test_a_resealed_row_breaks_the_link_of_the_next_one(db: Database) -> None:
    a, _b = await three_chains(db)
    forged = await event_at(db, a, 2)
    forged.after = {"role": "owner"}
    third = await event_at(db, a, 3)
    await tamper(
        db,
        "UPDATE audit_events SET after = :after, hash = :hash WHERE chain_id = :c AND seq = 2",
        after=forged.after,
        hash=seal(forged),
        c=a,
    )
    assert (await audit.verify(db)).tamper == audit.Tamper(
        a, 3, third.id, "broken link: prev_hash does not match the previous event's hash"
    )


async def test_a_deleted_row_is_named_by_the_gap_it_leaves(db: Database) -> None:
    a, _b = await three_chains(db)
    third = await event_at(db, a, 3)
    await tamper(db, "DELETE FROM audit_events WHERE chain_id = :c AND seq = 2", c=a)
    assert (await audit.verify(db)).tamper == audit.Tamper(
        a, 3, third.id, "broken link: seq 2 missing or out of order before this event"
    )


async def test_reordered_rows_are_named(db: Database) -> None:
    a, _b = await three_chains(db)
    third = await event_at(db, a, 3)
    for old, new in [(2, 1000), (3, 2), (1000, 3)]:
        await tamper(
            db, f"UPDATE audit_events SET seq = {new} WHERE chain_id = :c AND seq = {old}", c=a
        )
    assert (await audit.verify(db)).tamper == audit.Tamper(
        a, 2, third.id, "hash mismatch: the event differs from what was recorded"
    )


async def test_tampering_with_the_deployment_chain_is_named(db: Database) -> None:
    await three_chains(db)
    only = await event_at(db, audit.DEPLOYMENT_CHAIN, 1)
    await tamper(
        db, "UPDATE audit_events SET target = 'other' WHERE chain_id = :c", c=only.chain_id
    )
    found = (await audit.verify(db)).tamper
    assert found is not None
    assert str(found) == (
        f"org none seq 1 event {only.id}: hash mismatch: the event differs from what was recorded"
    )


runner = CliRunner()


async def servio(db_url: str, *args: str) -> Result:
    env = {"SERVIO_ENV": "test", "SERVIO_DATABASE_URL": db_url, "COLUMNS": "80"}
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env)


async def test_cli_reports_ok_and_exits_zero(db: Database, db_url: str) -> None:
    await three_chains(db)
    result = await servio(db_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "audit log OK: 7 events in 3 chains"


async def test_cli_names_the_tampered_event_and_exits_one(db: Database, db_url: str) -> None:
    a, _b = await three_chains(db)
    second = await event_at(db, a, 2)
    await tamper(db, "UPDATE audit_events SET action = 'x' WHERE chain_id = :c AND seq = 2", c=a)
    result = await servio(db_url, "audit", "verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"audit log TAMPERED: org {a} seq 2 event {second.id}: "
        "hash mismatch: the event differs from what was recorded"
    )
