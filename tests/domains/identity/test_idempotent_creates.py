"""Creating POSTs honour Idempotency-Key per principal: a retried API-key creation makes
one key and replays the same answer; another member's identical key is their own. An
answer about the caller rather than the request (signed out, not allowed, the business
read-only) is not kept: once the caller may act, the same key runs."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from servio.domains.identity.models import ApiKey
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.idempotency import DONE, IdempotencyKey
from tests.support.identity import invite, login, problem, register, set_read_only


async def _key_counts(db: Database) -> dict[object, int]:
    async with db.unit_of_work(system=True) as s:
        rows = await s.execute(select(ApiKey.org_id, func.count()).group_by(ApiKey.org_id))
        return dict(rows.all())


async def _kept(db: Database) -> list[tuple[str, str, int | None]]:
    async with db.system_session() as s:
        rows = await s.scalars(select(IdempotencyKey).order_by(IdempotencyKey.key))
        return [(row.key, row.state, row.response_status) for row in rows]


async def test_retried_create_makes_one_key(api: httpx.AsyncClient, db: Database) -> None:
    ada = await register(api, "ada@example.com", "Bright Homes")
    bob = await register(api, "bob@example.com", "Other Co")
    headers = ada.auth | {"Idempotency-Key": "create-zapier-key-1"}
    first = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=headers)
    again = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    changed = await api.post("/v1/api-keys", json={"name": "Other"}, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["type"].endswith("/idempotency-key-reused")
    theirs = await api.post(
        "/v1/api-keys",
        json={"name": "Zapier"},
        headers=bob.auth | {"Idempotency-Key": "create-zapier-key-1"},
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]
    assert await _key_counts(db) == {ada.org_id: 1, bob.org_id: 1}


async def test_a_signed_out_refusal_is_not_replayed_after_signing_in_again(
    api: httpx.AsyncClient, db: Database
) -> None:
    ada = await register(api, "ada@example.com", "Bright Homes")
    assert (await api.post("/v1/auth/logout", headers=ada.auth)).status_code == 204
    key = {"Idempotency-Key": "create-zapier-key-1"}
    refused = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=ada.auth | key)
    problem(refused, 401, "invalid-token")
    assert await _kept(db) == []

    again = await login(api, "ada@example.com")  # the same org and user: the same key scope
    made = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=again.auth | key)
    assert made.status_code == 201, made.text
    assert "idempotent-replayed" not in made.headers
    assert made.json()["key"]
    assert await _key_counts(db) == {ada.org_id: 1}
    assert await _kept(db) == [("create-zapier-key-1", DONE, 201)]
    replayed = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=again.auth | key)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == made.content


async def test_a_forbidden_answer_is_not_kept(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    viewer = await invite(api, owner, Path(settings.var_dir), "vic@example.com", "VIEWER")
    key = {"Idempotency-Key": "create-zapier-key-1"}
    refused = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=viewer.auth | key)
    problem(refused, 403, "forbidden")
    retried = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=viewer.auth | key)
    problem(retried, 403, "forbidden")
    assert "idempotent-replayed" not in retried.headers
    assert await _kept(db) == []

    promoted = await api.patch(
        f"/v1/iam/users/{viewer.user_id}", json={"role": "ADMIN"}, headers=owner.auth
    )
    assert promoted.status_code == 200, promoted.text
    made = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=viewer.auth | key)
    assert made.status_code == 201, made.text
    assert "idempotent-replayed" not in made.headers
    assert await _key_counts(db) == {owner.org_id: 1}
    assert await _kept(db) == [("create-zapier-key-1", DONE, 201)]


async def test_a_read_only_refusal_is_not_kept(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    await set_read_only(api, owner, True)
    key = {"Idempotency-Key": "create-zapier-key-1"}
    refused = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=owner.auth | key)
    problem(refused, 409, "read-only")
    assert await _kept(db) == []

    await set_read_only(api, owner, False)
    made = await api.post("/v1/api-keys", json={"name": "Zapier"}, headers=owner.auth | key)
    assert made.status_code == 201, made.text
    assert "idempotent-replayed" not in made.headers
    assert await _key_counts(db) == {owner.org_id: 1}
    assert await _kept(db) == [("create-zapier-key-1", DONE, 201)]
