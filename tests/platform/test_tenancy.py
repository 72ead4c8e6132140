"""Row-level security: a session working for org A sees none of org B's rows, even with
no WHERE clause, and the application's role can neither skip nor switch off RLS."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from servio.domains.identity import service
from servio.domains.identity.models import OrgSetting
from servio.platform.db import Database
from tests.support.orgs import add_org

pytestmark = pytest.mark.postgres


async def _two_orgs(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.unit_of_work(system=True) as session:
        a = await add_org(session, "org-a")
        b = await add_org(
            session, "org-b", vertical="tattoo", timezone="Europe/Berlin", currency="EUR"
        )
        await service.put_setting(session, a.id, "tax.rate_bps", 500)
        await service.put_setting(session, b.id, "tax.rate_bps", 1900)
        await service.put_setting(session, b.id, "secret.of_b", "b-only")
        return a.id, b.id


async def test_org_a_sees_none_of_org_b_rows_without_a_where_clause(pg_db: Database) -> None:
    a, b = await _two_orgs(pg_db)
    async with pg_db.unit_of_work(a) as session:
        rows = (await session.scalars(select(OrgSetting))).all()
        raw = (await session.execute(text("SELECT org_id, key FROM org_settings"))).all()
    assert {row.org_id for row in rows} == {a}
    assert [r.key for r in rows] == ["tax.rate_bps"]
    assert {r[0] for r in raw} == {a}

    async with pg_db.unit_of_work(b) as session:
        keys = set((await session.scalars(select(OrgSetting.key))).all())
    assert keys == {"tax.rate_bps", "secret.of_b"}


async def test_a_session_without_an_org_sees_no_tenant_rows(pg_db: Database) -> None:
    await _two_orgs(pg_db)
    async with pg_db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(OrgSetting)) == 0
    async with pg_db.unit_of_work(system=True) as session:
        assert await session.scalar(select(func.count()).select_from(OrgSetting)) == 3


async def test_org_a_cannot_write_a_row_for_org_b(pg_db: Database) -> None:
    a, b = await _two_orgs(pg_db)
    with pytest.raises(DBAPIError, match="row-level security"):
        async with pg_db.unit_of_work(a) as session:
            session.add(OrgSetting(org_id=b, key="planted", value=1))
    async with pg_db.unit_of_work(system=True) as session:
        planted = await session.scalar(select(OrgSetting).where(OrgSetting.key == "planted"))
    assert planted is None


async def test_updates_and_deletes_never_reach_another_org(pg_db: Database) -> None:
    a, b = await _two_orgs(pg_db)
    async with pg_db.unit_of_work(a) as session:
        deleted = await session.execute(text("DELETE FROM org_settings"))
        assert deleted.rowcount == 1  # type: ignore[attr-defined]
    async with pg_db.unit_of_work(b) as session:
        assert await session.scalar(select(func.count()).select_from(OrgSetting)) == 2


async def test_tenant_setting_does_not_leak_to_the_next_transaction(pg_db: Database) -> None:
    a, _b = await _two_orgs(pg_db)
    async with pg_db.unit_of_work(a) as session:
        assert await session.scalar(select(func.count()).select_from(OrgSetting)) == 1
    # The same pooled connection, a new transaction without an org: nothing visible.
    for _ in range(3):
        async with pg_db.unit_of_work() as session:
            current = await session.scalar(
                text("SELECT current_setting('app.current_org_id', true)")
            )
            assert current in (None, "")
            assert await session.scalar(select(func.count()).select_from(OrgSetting)) == 0


async def test_application_role_is_not_superuser_and_does_not_bypass_rls(pg_db: Database) -> None:
    async with pg_db.unit_of_work() as session:
        row = (
            await session.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, current_user FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
        forced = (
            await session.execute(
                text(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname = 'org_settings'"
                )
            )
        ).one()
    assert row[0] is False, f"{row[2]} is a superuser"
    assert row[1] is False, f"{row[2]} bypasses RLS"
    assert tuple(forced) == (True, True)


async def test_application_role_cannot_switch_row_security_off(pg_db: Database) -> None:
    a, _b = await _two_orgs(pg_db)
    async with pg_db.unit_of_work(a) as session:
        # row_security=off makes PostgreSQL raise rather than silently filter for a
        # role subject to RLS: it never widens what the role sees.
        await session.execute(text("SET LOCAL row_security = off"))
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(text("SELECT count(*) FROM org_settings"))
        await session.rollback()
