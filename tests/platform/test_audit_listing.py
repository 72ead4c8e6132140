"""Listing an org's audit events: newest first, filtered, a page at a time behind an
opaque cursor; a cursor not issued by the listing is refused as a documented problem."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import httpx
import pytest

from servio.platform import audit
from servio.platform.db import Database
from tests.support.orgs import add_org

EVENTS = [
    ("user:ann", "auth.login.succeeded", "session:1"),
    ("user:ann", "iam.role.changed", "user:bob"),
    ("user:bob", "auth.login.failed", "user:bob"),
    ("api_key:k1", "iam.role.changed", "user:cy"),
    ("user:ann", "auth.logout", "session:1"),
]


async def seeded(db: Database) -> tuple[uuid.UUID, uuid.UUID, list[audit.AuditEvent]]:
    async with db.unit_of_work(system=True) as session:
        org = (await add_org(session, "org-a")).id
        other = (await add_org(session, "org-b")).id
        events = [
            await audit.record(session, org_id=org, actor=actor, action=action, target=target)
            for actor, action, target in EVENTS
        ]
        await audit.record(
            session, org_id=other, actor="user:ann", action="auth.logout", target="x"
        )
        await audit.record(session, org_id=None, actor="system", action="auth.logout", target="y")
    return org, other, events


async def seqs(db: Database, org: uuid.UUID | None, **filters: object) -> list[int]:
    async with db.unit_of_work(org, system=org is None) as session:
        page = await audit.list_events(session, org_id=org, **filters)  # type: ignore[arg-type]
    assert page.next_cursor is None
    return [event.seq for event in page.items]


async def test_newest_first_and_only_the_orgs_own_chain(db: Database) -> None:
    org, other, _events = await seeded(db)
    assert await seqs(db, org) == [5, 4, 3, 2, 1]
    assert await seqs(db, other) == [1]
    assert await seqs(db, None) == [1]


FILTERS: list[tuple[dict[str, str], list[int]]] = [
    ({"action": "iam.role.changed"}, [4, 2]),
    ({"action": "auth.*"}, [5, 3, 1]),
    ({"action": "auth"}, []),
    ({"action": "auth%.*"}, []),  # "%" is a character, not a wildcard
    ({"actor": "user:ann"}, [5, 2, 1]),
    ({"target": "user:bob"}, [3, 2]),
    ({"actor": "user:ann", "action": "auth.*", "target": "session:1"}, [5, 1]),
]


async def test_filters(db: Database) -> None:
    org, _other, _events = await seeded(db)
    found = [(filters, await seqs(db, org, **filters)) for filters, _expected in FILTERS]
    assert found == [(filters, expected) for filters, expected in FILTERS]


async def test_time_window_includes_since_and_excludes_until(db: Database) -> None:
    org, _other, events = await seeded(db)
    third = events[2].created_at
    assert await seqs(db, org, since=third) == [5, 4, 3]
    assert await seqs(db, org, until=third) == [2, 1]
    assert await seqs(db, org, since=third, until=events[4].created_at) == [4, 3]
    assert await seqs(db, org, since=events[4].created_at + timedelta(seconds=1)) == []


async def test_pages_follow_each_other_without_gaps_or_repeats(db: Database) -> None:
    org, _other, _events = await seeded(db)
    pages: list[list[int]] = []
    cursor: str | None = None
    async with db.unit_of_work(org) as session:
        while True:
            page = await audit.list_events(session, org_id=org, cursor=cursor, limit=2)
            pages.append([e.seq for e in page.items])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        filtered = await audit.list_events(session, org_id=org, actor="user:ann", limit=2)
        rest = await audit.list_events(
            session, org_id=org, actor="user:ann", limit=2, cursor=filtered.next_cursor
        )
    assert pages == [[5, 4], [3, 2], [1]]
    assert [e.seq for e in filtered.items] == [5, 2]
    assert ([e.seq for e in rest.items], rest.next_cursor) == ([1], None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = [
    "not a cursor!",
    "",
    _b64(b"\xff\xfe"),
    _b64(b"[3]"),
    _b64(b'{"seq": "3"}'),
    _b64(b'{"seq": 0}'),
    _b64(b'{"seq": true}'),
    _b64(b'{"at": 3}'),
]


async def test_a_cursor_not_issued_by_the_listing_is_refused(db: Database) -> None:
    org, _other, _events = await seeded(db)
    async with db.unit_of_work(org) as session:
        for cursor in BAD_CURSORS:
            with pytest.raises(audit.InvalidAuditCursor) as refused:
                await audit.list_events(session, org_id=org, cursor=cursor)
            assert (refused.value.status, refused.value.type) == (400, "invalid-audit-cursor")


async def test_page_size_is_bounded(db: Database) -> None:
    async with db.unit_of_work(system=True) as session:
        for limit in (0, -1, 201):
            with pytest.raises(ValueError, match="limit"):
                await audit.list_events(session, org_id=None, limit=limit)


async def test_the_bad_cursor_problem_is_documented(api: httpx.AsyncClient) -> None:
    response = await api.get("/problems/invalid-audit-cursor")
    assert response.status_code == 200
    assert response.json()["status"] == 400
    assert "cursor" in response.json()["description"]
