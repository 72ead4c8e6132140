"""The operator /admin paths with X-Admin-API-Key: 401 without a key, 403 with a wrong
one; leads and funnel of the key's org only; retention deletes the org's processed
inbound events older than the window and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from servio.domains.intake.models import Lead
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.inbox import ExternalEvent, mark_processed, record_event
from tests.support.app import app_client
from tests.support.identity import Account, admin_key, new_key, problem, register

PATHS = (
    ("GET", "/admin/leads"),
    ("GET", "/admin/funnel"),
    ("POST", "/admin/events/retention-cleanup"),
)


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with room for more than the 10 /admin requests a minute an operator key gets."""
    roomy = settings.model_copy(update={"rate_limit_admin": "1000/minute"})
    async with app_client(roomy, raise_errors=False) as client:
        yield client


async def _key(api: httpx.AsyncClient, who: Account) -> dict[str, str]:
    return admin_key((await new_key(api, who.auth, name="ops"))["key"])


async def _lead(api: httpx.AsyncClient, who: Account, email: str) -> str:
    r = await api.post(f"/v1/leads?org={who.org_slug}", json={"name": "Jo", "email": email})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_admin_paths_need_a_valid_key(api: httpx.AsyncClient) -> None:
    ada = await register(api, "ada@example.com", "Inkwell")
    key = await _key(api, ada)
    for method, path in PATHS:
        problem(await api.request(method, path), 401, "not-authenticated")
        wrong = await api.request(method, path, headers=admin_key("svk_wrong"))
        problem(wrong, 403, "api-key-refused")
        assert (await api.request(method, path, headers=key)).status_code == 200, path


async def test_leads_are_the_keys_orgs_newest_first(api: httpx.AsyncClient, db: Database) -> None:
    ada = await register(api, "ada@example.com", "Inkwell")
    bob = await register(api, "bob@example.com", "Other Co")
    first = await _lead(api, ada, "one@example.com")
    second = await _lead(api, ada, "two@example.com")
    await _lead(api, bob, "theirs@example.com")
    async with db.unit_of_work(system=True) as s:
        await s.execute(
            update(Lead)
            .where(Lead.id == uuid.UUID(first))
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    key = await _key(api, ada)
    body = (await api.get("/admin/leads", headers=key)).json()
    assert [item["id"] for item in body["items"]] == [second, first]
    assert body["count"] == 2
    assert body["items"][0]["email"] == "two@example.com"
    limited = (await api.get("/admin/leads", params={"limit": 1}, headers=key)).json()
    assert [item["id"] for item in limited["items"]] == [second]
    assert (await api.get("/admin/leads", params={"limit": 0}, headers=key)).status_code == 422


async def test_funnel_counts_the_windows_leads_by_status(
    api: httpx.AsyncClient, db: Database
) -> None:
    ada = await register(api, "ada@example.com", "Inkwell")
    bob = await register(api, "bob@example.com", "Other Co")
    a, _, old = [await _lead(api, ada, f"{n}@example.com") for n in ("a", "b", "old")]
    await _lead(api, bob, "theirs@example.com")
    moved = await api.post(
        f"/v1/admin/leads/{a}/status", json={"status": "CONTACTED"}, headers=ada.auth
    )
    assert moved.status_code == 200, moved.text
    async with db.unit_of_work(system=True) as s:
        await s.execute(
            update(Lead)
            .where(Lead.id == uuid.UUID(old))
            .values(created_at=utcnow() - timedelta(days=8))
        )
    key = await _key(api, ada)
    week = (await api.get("/admin/funnel", params={"days": 7}, headers=key)).json()
    assert {k: week[k] for k in ("days", "counts", "total")} == {
        "days": 7,
        "counts": {"NEW": 1, "CONTACTED": 1, "QUOTED": 0, "LOST": 0, "BOOKED": 0},
        "total": 2,
    }
    # Both leads started; one was contacted: 50 % there, nobody quoted yet.
    assert [(x["from"], x["to"], x["conversion_bps"]) for x in week["steps"]] == [
        ("NEW", "CONTACTED", 5000),
        ("CONTACTED", "QUOTED", 0),
        ("QUOTED", "BOOKED", None),
    ]
    assert week["conversations"] == {"counts": {}, "total": 0, "steps": []}
    chat = await api.post(
        "/v1/chat/turn", json={"org": ada.org_slug, "session_id": "funnel-chat-1", "text": "hi"}
    )
    assert chat.status_code == 200, chat.text
    talks = (await api.get("/admin/funnel", params={"days": 7}, headers=key)).json()
    assert talks["conversations"]["total"] == 1
    assert talks["conversations"]["counts"]["QUALIFYING"] == 1
    first = talks["conversations"]["steps"][0]
    assert (first["from"], first["to"], first["conversion_bps"]) == ("NEW", "QUALIFYING", 10_000)
    month = (await api.get("/admin/funnel", params={"days": 30}, headers=key)).json()
    assert (month["counts"]["NEW"], month["total"]) == (2, 3)
    assert (await api.get("/admin/funnel", params={"days": 0}, headers=key)).status_code == 422


async def _event(
    db: Database, org: uuid.UUID | None, event_id: str, processed_days_ago: float | None
) -> None:
    async with db.unit_of_work(system=True) as s:
        event, _ = await record_event(
            s, provider="whatsapp", event_id=event_id, payload={"id": event_id}, org_id=org
        )
        if processed_days_ago is not None:
            await mark_processed(s, event, "applied")
            event.processed_at = utcnow() - timedelta(days=processed_days_ago)
            await s.flush()


async def test_retention_cleanup_deletes_the_orgs_old_processed_events(
    api: httpx.AsyncClient, db: Database
) -> None:
    ada = await register(api, "ada@example.com", "Inkwell")
    bob = await register(api, "bob@example.com", "Other Co")
    await _event(db, ada.org_id, "old-1", 100)
    await _event(db, ada.org_id, "old-2", 91)
    await _event(db, ada.org_id, "recent", 10)
    await _event(db, ada.org_id, "unprocessed", None)
    await _event(db, bob.org_id, "bobs-old", 100)
    await _event(db, None, "unmatched-old", 100)
    key = await _key(api, ada)
    r = await api.post(
        "/admin/events/retention-cleanup", params={"retention_days": 90}, headers=key
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"deleted": 2, "retention_days": 90}
    async with db.unit_of_work(system=True) as s:
        left = set(await s.scalars(select(ExternalEvent.event_id)))
    assert left == {"recent", "unprocessed", "bobs-old", "unmatched-old"}
    again = await api.post("/admin/events/retention-cleanup", headers=key)
    assert again.json() == {"deleted": 0, "retention_days": 90}
    audit = (
        await api.get("/v1/admin/audit", params={"action": "events.*"}, headers=ada.auth)
    ).json()
    assert [e["after"] for e in audit["items"]][-1] == {"deleted": 2, "retention_days": 90}
    bad = await api.post(
        "/admin/events/retention-cleanup", params={"retention_days": 0}, headers=key
    )
    assert bad.status_code == 422


async def test_a_member_without_operate_cannot_clean_up(api: httpx.AsyncClient) -> None:
    ada = await register(api, "ada@example.com", "Inkwell")
    viewer = await new_key(api, ada.auth, name="viewer", permissions=["leads:read"])
    headers = admin_key(viewer["key"])
    problem(await api.post("/admin/events/retention-cleanup", headers=headers), 403, "forbidden")
    assert (await api.get("/admin/leads", headers=headers)).status_code == 200
