"""Scoped queries: ``owned``/``get_owned`` keep a tenant query inside its org, and a
query that forgets its org filter inside an org-bound unit of work still sees only that
org's rows, on both databases (row-level security on PostgreSQL, the session's loader
criteria on SQLite). System scope sees every org."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from servio.domains.identity import service
from servio.domains.identity.models import Membership, OrgSetting, User
from servio.platform.db import Database
from servio.platform.db.scoped import get_owned, in_org, owned
from servio.platform.errors import NotFound
from servio.platform.outbox.models import OutboxMessage
from tests.support.orgs import add_org


class SettingNotFound(NotFound):
    """A domain's 404 (no problem type of its own: the catalogue stays as it is)."""


async def _two_orgs(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.unit_of_work(system=True) as s:
        a = await add_org(s, "org-a")
        b = await add_org(s, "org-b", vertical="tattoo", timezone="Europe/Berlin")
        await service.put_setting(s, a.id, "tax.rate_bps", 500)
        await service.put_setting(s, b.id, "tax.rate_bps", 1900)
        await service.put_setting(s, b.id, "secret.of_b", "b-only")
        return a.id, b.id


async def _setting_id(db: Database, org_id: uuid.UUID, key: str) -> uuid.UUID:
    async with db.reader(system=True) as s:
        found = await s.scalar(
            select(OrgSetting.id).where(OrgSetting.org_id == org_id, OrgSetting.key == key)
        )
    assert found is not None
    return found


async def test_a_query_without_an_org_filter_sees_only_the_bound_org(db: Database) -> None:
    a, b = await _two_orgs(db)
    async with db.unit_of_work(a) as s:
        rows = (await s.scalars(select(OrgSetting))).all()
        keys = (await s.scalars(select(OrgSetting.key))).all()
        counted = await s.scalar(select(func.count()).select_from(OrgSetting))
    assert {row.org_id for row in rows} == {a}
    assert keys == ["tax.rate_bps"]
    assert counted == 1

    async with db.reader(b) as s:
        keys = (await s.scalars(select(OrgSetting.key).order_by(OrgSetting.key))).all()
    assert keys == ["secret.of_b", "tax.rate_bps"]


async def test_a_lookup_by_id_does_not_find_another_orgs_row(db: Database) -> None:
    a, b = await _two_orgs(db)
    secret = await _setting_id(db, b, "secret.of_b")
    async with db.reader(a) as s:
        assert await s.get(OrgSetting, secret) is None
        assert await s.scalar(select(OrgSetting).where(OrgSetting.id == secret)) is None


async def test_joins_and_aliases_are_scoped_too(db: Database) -> None:
    a, b = await _two_orgs(db)
    async with db.unit_of_work(system=True) as s:
        user = User(email="both@example.com", password_hash="x")
        s.add(user)
        await s.flush()
        s.add_all(
            [
                Membership(org_id=a, user_id=user.id, role="owner"),
                Membership(org_id=b, user_id=user.id, role="viewer"),
            ]
        )
    other = aliased(Membership)
    async with db.reader(a) as s:
        roles = (
            await s.scalars(select(Membership.role).join(User, User.id == Membership.user_id))
        ).all()
        pairs = (
            await s.execute(
                select(Membership.role, other.role).join(other, other.user_id == Membership.user_id)
            )
        ).all()
    assert roles == ["owner"]
    assert [tuple(p) for p in pairs] == [("owner", "owner")]


async def test_bulk_updates_and_deletes_never_reach_another_org(db: Database) -> None:
    a, b = await _two_orgs(db)
    async with db.unit_of_work(a) as s:
        await s.execute(update(OrgSetting).values(value=0))
        await s.execute(delete(OrgSetting).where(OrgSetting.key == "secret.of_b"))
    async with db.reader(system=True) as s:
        rows = (await s.execute(select(OrgSetting.org_id, OrgSetting.key, OrgSetting.value))).all()
    assert sorted(rows, key=str) == sorted(
        [(a, "tax.rate_bps", 0), (b, "tax.rate_bps", 1900), (b, "secret.of_b", "b-only")],
        key=str,
    )


async def test_rows_without_an_org_are_hidden_from_an_org(db: Database) -> None:
    a, b = await _two_orgs(db)
    async with db.unit_of_work(system=True) as s:
        for org, key in ((a, "a"), (b, "b"), (None, "deployment")):
            s.add(OutboxMessage(org_id=org, kind="test.scoped", payload={}, dedupe_key=key))
    async with db.reader(a) as s:
        keys = (await s.scalars(select(OutboxMessage.dedupe_key))).all()
    assert keys == ["a"]
    async with db.reader(system=True) as s:
        keys = (await s.scalars(select(OutboxMessage.dedupe_key))).all()
    assert sorted(keys) == ["a", "b", "deployment"]


async def test_system_scope_sees_every_org(db: Database) -> None:
    await _two_orgs(db)
    async with db.reader(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(OrgSetting)) == 3


async def test_owned_and_in_org_keep_a_query_inside_the_org(db: Database) -> None:
    # In system scope only the explicit filter keeps orgs apart: owned() is that filter.
    a, b = await _two_orgs(db)
    async with db.reader(system=True) as s:
        mine = (await s.scalars(owned(OrgSetting, a))).all()
        theirs = (await s.scalars(owned(OrgSetting, b).order_by(OrgSetting.key))).all()
        counted = await s.scalar(select(func.count()).where(in_org(OrgSetting, b)))
    assert counted == 2
    assert [(r.org_id, r.key, r.value) for r in mine] == [(a, "tax.rate_bps", 500)]
    assert [r.key for r in theirs] == ["secret.of_b", "tax.rate_bps"]


async def test_get_owned_finds_the_orgs_row_and_refuses_another_orgs(db: Database) -> None:
    a, b = await _two_orgs(db)
    mine, secret = await _setting_id(db, a, "tax.rate_bps"), await _setting_id(db, b, "secret.of_b")
    async with db.unit_of_work(system=True) as s:
        found = await get_owned(s, OrgSetting, mine, a, missing=SettingNotFound("No such."))
        locked = await get_owned(
            s, OrgSetting, secret, b, missing=SettingNotFound("No such."), lock=True
        )
        with pytest.raises(SettingNotFound, match="No such setting here"):
            await get_owned(
                s, OrgSetting, secret, a, missing=SettingNotFound("No such setting here")
            )
        with pytest.raises(SettingNotFound):
            await get_owned(s, OrgSetting, uuid.uuid4(), a, missing=SettingNotFound("No such."))
    assert (found.org_id, found.key, found.value) == (a, "tax.rate_bps", 500)
    assert (locked.org_id, locked.key, locked.value) == (b, "secret.of_b", "b-only")
