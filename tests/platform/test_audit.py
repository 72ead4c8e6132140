"""The audit log: each event sealed and linked to the one before it, snapshots stored
without secrets or personal data, appends that never fork a chain."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from servio.platform import audit
from servio.platform.audit import AuditEvent
from servio.platform.db import Database
from servio.platform.logging import MASK, REQUEST_ID
from tests.support.orgs import add_org


async def new_org(db: Database, slug: str) -> uuid.UUID:
    async with db.unit_of_work(system=True) as session:
        return (await add_org(session, slug)).id


async def append(db: Database, org: uuid.UUID | None, action: str = "iam.role.changed") -> None:
    async with db.unit_of_work(org, system=org is None) as session:
        await audit.record(session, org_id=org, actor="system", action=action, target="t")


async def chain(db: Database, org: uuid.UUID | None) -> list[AuditEvent]:
    async with db.unit_of_work(system=True) as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain_id == (org or audit.DEPLOYMENT_CHAIN))
            .order_by(AuditEvent.seq)
        )
        return list(rows.all())


def assert_unbroken(events: list[AuditEvent]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash


async def test_events_link_to_the_one_before_and_hash_their_fields(db: Database) -> None:
    org = await new_org(db, "acme")
    async with db.unit_of_work(org) as session:
        for role in ("staff", "manager", "owner"):
            await audit.record(
                session,
                org_id=org,
                actor="user:8d7f5b43-05a1-4c8e-9d89-0e0c2b2d6d51",
                action="iam.role.changed",
                target="membership:42",
                ip="203.0.113.9",
                before={"role": "staff"},
                after={"role": role, "since": 2026},
            )
    events = await chain(db, org)  # read back: the database round trip keeps the seal
    assert_unbroken(events)
    first = events[0]
    fields = {
        "id": str(first.id),
        "org_id": str(org),
        "chain_id": str(org),
        "seq": 1,
        "actor": "user:8d7f5b43-05a1-4c8e-9d89-0e0c2b2d6d51",
        "action": "iam.role.changed",
        "target": "membership:42",
        "ip": "203.0.113.9",
        "request_id": None,
        "before": {"role": "staff"},
        "after": {"role": "staff", "since": 2026},
        "created_at": first.created_at.isoformat(timespec="microseconds"),
        "prev_hash": "0" * 64,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    assert first.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert len({e.hash for e in events}) == 3


async def test_each_org_and_the_deployment_have_their_own_chain(db: Database) -> None:
    a, b = await new_org(db, "org-a"), await new_org(db, "org-b")
    for org in (a, b, None, a, None, a):
        await append(db, org)
    chains = [await chain(db, org) for org in (a, b, None)]
    assert [len(c) for c in chains] == [3, 1, 2]
    for events in chains:
        assert_unbroken(events)
    assert {e.org_id for e in chains[2]} == {None}


async def test_snapshots_and_target_are_stored_without_secrets_or_personal_data(
    db: Database,
) -> None:
    org = await new_org(db, "acme")
    secrets = ["hunter2", "jane@example.com", "tok-123", "ab12cd", "sk_live_abcdefgh1234", "s3"]
    async with db.unit_of_work(org) as session:
        await audit.record(
            session,
            org_id=org,
            actor="system",
            action="identity.user.updated",
            target="user jane@example.com",
            before={"password": "hunter2", "email": "jane@example.com", "role": "staff"},
            after={
                "profile": {"refresh_token": "tok-123", "key_hash": "ab12cd", "name": "Jane"},
                "keys": [{"secret": "s3"}, "Bearer sk_live_abcdefgh1234"],
                "note": "call +1 403 555 0199",
                "api_key_id": uuid.UUID(int=7),
            },
        )
    async with db.unit_of_work(system=True) as session:
        raw = (await session.execute(text("SELECT before, after, target FROM audit_events"))).one()
    stored = " ".join(str(column) for column in raw)
    for secret in [*secrets, "403 555 0199"]:
        assert secret not in stored
    (event,) = await chain(db, org)
    assert event.before == {"password": MASK, "email": MASK, "role": "staff"}
    assert event.after["profile"] == {"refresh_token": MASK, "key_hash": MASK, "name": "Jane"}
    assert event.after["keys"] == [{"secret": MASK}, f"Bearer {MASK}"]
    assert event.after["api_key_id"] == MASK  # the key name alone marks it
    assert event.target == f"user {MASK}"


async def test_request_id_comes_from_the_request_being_served(db: Database) -> None:
    org = await new_org(db, "acme")
    token = REQUEST_ID.set("req-0123456789")
    try:
        async with db.unit_of_work(org) as session:
            implied = await audit.record(
                session, org_id=org, actor="system", action="a", target="t"
            )
            given = await audit.record(
                session, org_id=org, actor="system", action="a", target="t", request_id="job-7"
            )
    finally:
        REQUEST_ID.reset(token)
    assert (implied.request_id, given.request_id) == ("req-0123456789", "job-7")


async def test_text_longer_than_its_column_is_cut_to_fit_and_still_verifies(
    db: Database,
) -> None:
    org = await new_org(db, "acme")
    async with db.unit_of_work(org) as session:
        await audit.record(
            session,
            org_id=org,
            actor="user:" + "a" * 300,
            action="auth." + "b" * 300,
            target="account:" + "c" * 600,
            request_id="r" * 300,
        )
    [event] = await chain(db, org)
    assert event.actor == ("user:" + "a" * 300)[:120]
    assert event.action == ("auth." + "b" * 300)[:80]
    assert event.target == ("account:" + "c" * 600)[:255]
    assert event.request_id == "r" * 128
    assert (await audit.verify(db)).ok


async def test_the_client_address_is_stored_in_canonical_form_or_not_at_all(db: Database) -> None:
    org = await new_org(db, "acme")
    async with db.unit_of_work(org) as session:
        v6 = await audit.record(
            session, org_id=org, actor="x", action="a", target="t", ip="2001:DB8:0:0::1"
        )
        peer = await audit.record(
            session, org_id=org, actor="x", action="a", target="t", ip="unknown"
        )
    assert v6.ip == "2001:db8::1"
    assert peer.ip is None  # no address to keep, and the event is kept


async def test_a_session_must_work_for_the_chain_it_extends(db: Database) -> None:
    a, b = await new_org(db, "org-a"), await new_org(db, "org-b")
    for session_org, event_org in [(a, b), (a, None), (None, a)]:
        with pytest.raises(audit.AuditScopeError):
            async with db.unit_of_work(session_org) as session:
                await audit.record(session, org_id=event_org, actor="x", action="a", target="t")
    assert await chain(db, a) == []


async def test_a_fork_or_a_row_outside_its_chain_fails_on_insert(db: Database) -> None:
    org = await new_org(db, "acme")
    await append(db, org)
    (first,) = await chain(db, org)
    forks: list[dict[str, Any]] = [
        {"org_id": org, "chain_id": org, "seq": 1},  # a second seq 1
        {"org_id": None, "chain_id": org, "seq": 2},  # deployment row in an org's chain
        {"org_id": org, "chain_id": audit.DEPLOYMENT_CHAIN, "seq": 9},
    ]
    for fork in forks:
        with pytest.raises(IntegrityError):
            async with db.unit_of_work(system=True) as session:
                session.add(
                    AuditEvent(
                        actor="x",
                        action="a",
                        target="t",
                        prev_hash=first.prev_hash,
                        hash=first.hash,
                        **fork,
                    )
                )


async def test_concurrent_appends_form_one_unbroken_chain(db: Database) -> None:
    org = await new_org(db, "busy")
    writers = 8
    all_started = asyncio.Barrier(writers)

    async def append_concurrently(i: int) -> None:
        if not db.is_postgres:
            await all_started.wait()  # SQLite writers queue at BEGIN: they start together
        async with db.unit_of_work(org) as session:
            if db.is_postgres:
                await session.connection()  # the transaction is open before anyone appends
                await all_started.wait()
            await audit.record(session, org_id=org, actor=f"worker:{i}", action="a", target="t")

    outcomes = await asyncio.gather(
        *(append_concurrently(i) for i in range(writers)), return_exceptions=True
    )
    assert [repr(o) for o in outcomes if isinstance(o, BaseException)] == []
    events = await chain(db, org)
    assert len(events) == writers
    assert_unbroken(events)
    assert (await audit.verify(db)).ok


async def test_an_append_waits_while_another_transaction_extends_the_chain(db: Database) -> None:
    org = await new_org(db, "acme")
    async with db.session(org) as first:
        await audit.record(first, org_id=org, actor="first", action="a", target="t")
        second = asyncio.create_task(append(db, org))
        await asyncio.sleep(0.3)
        assert not second.done()
        await first.commit()
    await asyncio.wait_for(second, timeout=10)
    events = await chain(db, org)
    assert [e.actor for e in events] == ["first", "system"]
    assert_unbroken(events)


@pytest.mark.postgres
async def test_appends_to_different_orgs_do_not_wait_for_each_other(pg_db: Database) -> None:
    a, b = await new_org(pg_db, "org-a"), await new_org(pg_db, "org-b")
    async with pg_db.session(a) as first:
        await audit.record(first, org_id=a, actor="first", action="a", target="t")
        await asyncio.wait_for(append(pg_db, b), timeout=2)
        await first.commit()
    assert len(await chain(pg_db, a)) == len(await chain(pg_db, b)) == 1
