"""The dead-letter admin routes: per-org listing with a cursor, replay keeping history,
discard, counts, and seed 004's bulk retry with an admin API key."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import update

from servio.platform.db import Database
from servio.platform.outbox import OutboxMessage, add
from tests.support.identity import Account, problem, register


async def _dead(db: Database, org: uuid.UUID, n: int, kind: str = "email.send") -> list[str]:
    ids = []
    async with db.unit_of_work(system=True) as s:
        for i in range(n):
            row = await add(
                s, kind=kind, payload={"i": i}, dedupe_key=f"{org}:{kind}:{i}", org_id=org
            )
            ids.append(str(row.id))
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.org_id == org)
            .values(status="dead", attempts=8, last_error="SMTPServerDisconnected: gone")
        )
    return ids


async def _two_orgs(api: httpx.AsyncClient) -> tuple[Account, Account]:
    return (
        await register(api, "ada@example.com", "Bright Homes"),
        await register(api, "bob@example.com", "Other Co"),
    )


async def test_dead_letters_are_listed_per_org_with_a_cursor(
    api: httpx.AsyncClient, db: Database
) -> None:
    ada, bob = await _two_orgs(api)
    mine = await _dead(db, ada.org_id, 3)
    await _dead(db, bob.org_id, 2)
    first = await api.get("/v1/admin/outbox/dead-letter", params={"limit": 2}, headers=ada.auth)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2
    assert page["items"][0]["last_error"] == "SMTPServerDisconnected: gone"
    rest = await api.get(
        "/v1/admin/outbox/dead-letter",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=ada.auth,
    )
    seen = {i["id"] for i in page["items"]} | {i["id"] for i in rest.json()["items"]}
    assert seen == set(mine)
    assert rest.json()["next_cursor"] is None
    dlq = (await api.get("/v1/admin/queue/dlq", headers=bob.auth)).json()
    assert dlq["counts_by_kind"] == {"email.send": 2}
    problem(
        await api.get("/v1/admin/outbox/dead-letter", params={"cursor": "x"}, headers=ada.auth),
        400,
        "invalid-cursor",
    )


async def test_replay_keeps_history_and_discard_ends_it(
    api: httpx.AsyncClient, db: Database
) -> None:
    ada, bob = await _two_orgs(api)
    first, second = await _dead(db, ada.org_id, 2)
    theirs = (await _dead(db, bob.org_id, 1))[0]
    r = await api.post(f"/v1/admin/outbox/{first}/replay", headers=ada.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["attempts"]) == ("pending", 0)
    assert body["history"][-1]["outcome"] == "replayed"
    assert body["history"][-1]["by"] == f"user:{ada.user_id}"
    problem(
        await api.post(f"/v1/admin/outbox/{first}/replay", headers=ada.auth),
        409,
        "outbox-message-not-dead",
    )
    problem(
        await api.post(f"/v1/admin/outbox/{theirs}/replay", headers=ada.auth),
        404,
        "outbox-message-not-found",
    )
    gone = await api.post(f"/v1/admin/outbox/{second}/discard", headers=ada.auth)
    assert gone.json()["status"] == "discarded"
    async with db.unit_of_work(system=True) as s:
        row = await s.get(OutboxMessage, uuid.UUID(theirs))
        assert row is not None
        assert row.status == "dead"
    audit = (
        await api.get("/v1/admin/audit", params={"action": "outbox.*"}, headers=ada.auth)
    ).json()
    assert [e["action"] for e in audit["items"]] == ["outbox.discarded", "outbox.replayed"]


async def test_seed_004_bulk_retry_with_an_admin_key(api: httpx.AsyncClient, db: Database) -> None:
    ada, _ = await _two_orgs(api)
    await _dead(db, ada.org_id, 3)
    key = (await api.post("/v1/api-keys", json={"name": "ops"}, headers=ada.auth)).json()["key"]
    problem(await api.post("/admin/outbox/retry"), 401, "not-authenticated")
    problem(
        await api.post("/admin/outbox/retry", headers={"X-Admin-API-Key": "svk_wrong"}),
        403,
        "api-key-refused",
    )
    r = await api.post("/admin/outbox/retry", params={"limit": 2}, headers={"X-Admin-API-Key": key})
    assert r.status_code == 200, r.text
    assert r.json() == {"outbox_retry": {"retried": 2, "remaining_dead": 1}}
