"""The lead export: a signed webhook to the org's CRM URL from the outbox, and the export
dead letter (a view over the outbox) that admins list and replay."""

from __future__ import annotations

import uuid

import httpx
from standardwebhooks import Webhook

from servio.domains.webhooks import service
from servio.platform.outbox import OutboxMessage
from tests.support.app import app_of
from tests.support.identity import Account, new_key, problem, register
from tests.support.receiver import Receiver
from tests.support.webhooks import drain, outbox_rows, subscribe

LEAD = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+15555550100"}


async def _queue(api: httpx.AsyncClient, who: Account, lead_id: uuid.UUID) -> OutboxMessage:
    async with app_of(api).state.container.db.unit_of_work(who.org_id) as s:
        return await service.queue_lead_export(s, who.org_id, lead_id, LEAD)


async def _configure(api: httpx.AsyncClient, who: Account, url: str) -> str:
    r = await api.put("/v1/admin/lead-export", json={"url": url}, headers=who.auth)
    assert r.status_code == 200, r.text
    secret: str = r.json()["secret"]
    return secret


async def test_a_lead_is_exported_signed_to_the_crm(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@crm.example.com", "Crm Co")
    secret = await _configure(api, owner, receiver.url("/crm/leads"))
    assert secret.startswith("whsec_")
    assert await _configure(api, owner, receiver.url("/crm/v2/leads")) == secret  # kept
    lead_id = uuid.uuid4()
    await _queue(api, owner, lead_id)
    await _queue(api, owner, lead_id)  # once per lead
    assert await drain(api) == 1
    [got] = receiver.requests
    assert got.path == "/crm/v2/leads"
    assert got.headers["webhook-id"] == f"lead-export:{lead_id}"
    event = Webhook(secret).verify(got.body, got.headers)
    assert (event["type"], event["data"]) == ("lead.export", LEAD)
    log = (await api.get("/v1/webhooks/deliveries", headers=owner.auth)).json()["items"]
    assert [(d["event_type"], d["event_id"], d["ok"]) for d in log] == [
        ("lead.export", str(lead_id), True)
    ]
    assert log[0]["subscription_id"] is None


async def test_a_forbidden_crm_url_is_refused(strict_api: httpx.AsyncClient) -> None:
    owner = await register(strict_api, "owner@crm-bad.example.com", "Crm Bad")
    r = await strict_api.put(
        "/v1/admin/lead-export", json={"url": "http://10.1.1.1/leads"}, headers=owner.auth
    )
    problem(r, 422, "invalid-webhook-url")


async def test_dead_exports_are_listed_and_replayed_after_the_crm_is_fixed(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@dlq.example.com", "Dlq Co")
    lead_id = uuid.uuid4()
    queued = await _queue(api, owner, lead_id)
    assert await drain(api) == 1  # no CRM configured: dead at once
    r = await api.get("/v1/admin/export-dead-letter", headers=owner.auth)
    assert r.status_code == 200, r.text
    [dead] = r.json()["items"]
    assert dead["id"] == str(queued.id)
    assert dead["lead_id"] == str(lead_id)
    assert dead["kind"] == "lead.export"
    assert "no CRM webhook URL" in dead["last_error"]
    assert "ada@example.com" not in r.text  # the listing carries no lead data

    secret = await _configure(api, owner, receiver.url("/crm"))
    r = await api.post(f"/v1/admin/export-dead-letter/{queued.id}/replay", headers=owner.auth)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    [row] = await outbox_rows(api, "lead.export")
    assert (row.status, row.attempts) == ("pending", 0)
    assert [h["outcome"] for h in row.history] == ["dead", "replayed"]
    assert row.history[-1]["by"].startswith("user:")

    assert await drain(api) == 1
    Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    [row] = await outbox_rows(api, "lead.export")
    assert row.status == "done"
    assert (await api.get("/v1/admin/export-dead-letter", headers=owner.auth)).json() == {
        "items": [],
        "next_cursor": None,
    }
    again = await api.post(f"/v1/admin/export-dead-letter/{queued.id}/replay", headers=owner.auth)
    problem(again, 409, "outbox-message-not-dead")
    events = (await api.get("/v1/admin/audit?action=outbox.*", headers=owner.auth)).json()
    assert [e["target"] for e in events["items"]] == [f"outbox:{queued.id}"]


async def test_the_dead_letter_pages_and_shows_only_lead_exports(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@pages.example.com", "Pages Co")
    sub = await subscribe(api, owner, receiver.url())
    receiver.answer(400, "no")
    await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/ping", headers=owner.auth)
    for _ in range(3):
        await _queue(api, owner, uuid.uuid4())
    await drain(api)
    assert {r.status for r in await outbox_rows(api, "webhook.deliver")} == {"dead"}
    first = (await api.get("/v1/admin/export-dead-letter?limit=2", headers=owner.auth)).json()
    assert len(first["items"]) == 2
    rest = await api.get(
        f"/v1/admin/export-dead-letter?limit=2&cursor={first['next_cursor']}", headers=owner.auth
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    seen = {i["id"] for i in first["items"]} | {i["id"] for i in rest.json()["items"]}
    assert seen == {str(r.id) for r in await outbox_rows(api, "lead.export")}
    [webhook_row] = await outbox_rows(api, "webhook.deliver")
    r = await api.post(f"/v1/admin/export-dead-letter/{webhook_row.id}/replay", headers=owner.auth)
    problem(r, 404, "outbox-message-not-found")  # only lead exports are replayed here


async def test_another_orgs_dead_exports_are_invisible(api: httpx.AsyncClient) -> None:
    a = await register(api, "owner@dl-a.example.com", "Dl A")
    b = await register(api, "owner@dl-b.example.com", "Dl B")
    theirs = await _queue(api, b, uuid.uuid4())
    await drain(api)
    assert (await api.get("/v1/admin/export-dead-letter", headers=a.auth)).json()["items"] == []
    r = await api.post(f"/v1/admin/export-dead-letter/{theirs.id}/replay", headers=a.auth)
    problem(r, 404, "outbox-message-not-found")
    [row] = await outbox_rows(api, "lead.export")
    assert (row.status, [h["outcome"] for h in row.history]) == ("dead", ["dead"])
    r = await api.post(f"/v1/admin/export-dead-letter/{uuid.uuid4()}/replay", headers=a.auth)
    problem(r, 404, "outbox-message-not-found")


async def test_the_dead_letter_needs_the_operate_permission(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@dl-perm.example.com", "Dl Perm")
    key = await new_key(api, owner.auth, permissions=["webhooks:manage"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    r = await api.get("/v1/admin/export-dead-letter", headers=headers)
    assert problem(r, 403, "forbidden")["permission"] == "admin:operate"
    r = await api.put(
        "/v1/admin/lead-export", json={"url": "https://x.example.com"}, headers=headers
    )
    assert problem(r, 403, "forbidden")["permission"] == "settings:manage"
