"""Creating POSTs honour Idempotency-Key per principal: a retried API-key creation makes
one key and replays the same answer; another member's identical key is their own."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from servio.domains.identity.models import ApiKey
from servio.platform.db import Database
from tests.support.identity import register


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
    async with db.unit_of_work(system=True) as s:
        counts = dict(
            (await s.execute(select(ApiKey.org_id, func.count()).group_by(ApiKey.org_id))).all()
        )
    assert counts == {ada.org_id: 1, bob.org_id: 1}
