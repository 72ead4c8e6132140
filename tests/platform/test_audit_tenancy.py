"""Row-level security on the audit log: an org sees only its own events; deployment-level
events (no org) are seen and written only in system scope."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from servio.platform import audit
from servio.platform.audit import AuditEvent
from servio.platform.db import Database
from tests.support.orgs import add_org

pytestmark = pytest.mark.postgres


async def events_of_two_orgs_and_the_deployment(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.unit_of_work(system=True) as session:
        a = (await add_org(session, "org-a")).id
        b = (await add_org(session, "org-b")).id
        for org in (a, b, b, None):
            await audit.record(session, org_id=org, actor="system", action="a", target="t")
    return a, b


async def test_an_org_sees_neither_other_orgs_nor_deployment_events(pg_db: Database) -> None:
    a, b = await events_of_two_orgs_and_the_deployment(pg_db)
    async with pg_db.unit_of_work(a) as session:
        raw = (await session.execute(text("SELECT org_id FROM audit_events"))).scalars().all()
        orm = (await session.scalars(select(AuditEvent.org_id))).all()
        deployment = await session.scalar(
            text("SELECT count(*) FROM audit_events WHERE org_id IS NULL")
        )
        others = await audit.list_events(session, org_id=b)
    assert list(raw) == list(orm) == [a]
    assert deployment == 0
    assert others.items == []


async def test_without_an_org_nothing_is_visible_and_system_scope_sees_all(
    pg_db: Database,
) -> None:
    a, b = await events_of_two_orgs_and_the_deployment(pg_db)
    async with pg_db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    async with pg_db.unit_of_work(system=True) as session:
        orgs = (await session.scalars(select(AuditEvent.org_id))).all()
    assert sorted(orgs, key=str) == sorted([a, b, b, None], key=str)


@pytest.mark.parametrize("planted_for", ["other-org", "deployment"])
async def test_an_org_cannot_write_into_another_chain(pg_db: Database, planted_for: str) -> None:
    a, b = await events_of_two_orgs_and_the_deployment(pg_db)
    org = b if planted_for == "other-org" else None
    with pytest.raises(DBAPIError, match="row-level security"):
        async with pg_db.unit_of_work(a) as session:
            session.add(
                AuditEvent(
                    org_id=org,
                    chain_id=org or audit.DEPLOYMENT_CHAIN,
                    seq=99,
                    actor="x",
                    action="planted",
                    target="t",
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )
    async with pg_db.unit_of_work(system=True) as session:
        planted = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "planted")
        )
    assert planted == 0


async def test_an_org_can_neither_change_nor_delete_other_chains(pg_db: Database) -> None:
    a, _b = await events_of_two_orgs_and_the_deployment(pg_db)
    async with pg_db.unit_of_work(a) as session:
        changed = await session.execute(text("UPDATE audit_events SET action = 'x'"))
        deleted = await session.execute(
            text("DELETE FROM audit_events WHERE org_id <> :a"), {"a": a}
        )
    assert changed.rowcount == 1  # type: ignore[attr-defined]
    assert deleted.rowcount == 0  # type: ignore[attr-defined]
    async with pg_db.unit_of_work(system=True) as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert sorted(actions) == ["a", "a", "a", "x"]


async def test_the_audit_table_forces_row_level_security(pg_db: Database) -> None:
    async with pg_db.unit_of_work() as session:
        forced = (
            await session.execute(
                text(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname = 'audit_events'"
                )
            )
        ).one()
    assert tuple(forced) == (True, True)
