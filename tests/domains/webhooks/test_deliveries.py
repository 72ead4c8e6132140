"""Deliveries end to end: events published in a transaction leave through the outbox,
signed so that a real receiver verifies them with ``standardwebhooks`` (with the old and
the new secret during a rotation), each attempt logged; a 410 disables the endpoint."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from servio.domains.webhooks import service
from servio.domains.webhooks.models import WebhookSubscription
from servio.platform.db import utcnow
from tests.support.app import app_of
from tests.support.identity import Account, problem, register
from tests.support.receiver import Receiver
from tests.support.webhooks import drain, outbox_rows, subscribe


async def _publish(
    api: httpx.AsyncClient, who: Account, event_type: str, data: object, event_id: str
) -> int:
    async with app_of(api).state.container.db.unit_of_work(who.org_id) as s:
        return await service.publish(s, who.org_id, event_type, data, event_id)


async def _ping(api: httpx.AsyncClient, who: Account, sub: dict[str, str]) -> dict[str, str]:
    r = await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/ping", headers=who.auth)
    assert r.status_code == 202, r.text
    body: dict[str, str] = r.json()
    return body


async def test_ping_delivers_a_signed_ping_event(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@ping.example.com", "Ping Co")
    sub = await subscribe(api, owner, receiver.url("/in/servio"))
    queued = await _ping(api, owner, sub)
    assert queued["message_id"] == f"webhook:{sub['id']}:{queued['event_id']}"
    assert await drain(api) == 1
    [got] = receiver.requests
    assert got.path == "/in/servio"
    assert got.headers["webhook-id"] == queued["message_id"]
    assert got.headers["content-type"] == "application/json"
    event = Webhook(sub["secret"]).verify(got.body, got.headers)
    assert event["type"] == "ping"
    assert event["data"] == {"subscription_id": sub["id"]}
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(got.body.replace("ping", "pong"), got.headers)


async def test_published_events_reach_only_subscriptions_that_want_them_once(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@pub.example.com", "Pub Co")
    bookings = await subscribe(api, owner, receiver.url("/bookings"), ["booking.confirmed"])
    everything = await subscribe(api, owner, receiver.url("/all"), ["*"])
    await subscribe(api, owner, receiver.url("/leads"), ["lead.created"])
    data = {"booking_id": "b-1", "start": "2026-12-01T09:00:00-07:00"}
    assert await _publish(api, owner, "booking.confirmed", data, "evt_1") == 2
    assert await _publish(api, owner, "booking.confirmed", data, "evt_1") == 2  # same rows
    assert len(await outbox_rows(api, "webhook.deliver")) == 2
    assert await drain(api) == 2
    by_path = {r.path: r for r in receiver.requests}
    assert set(by_path) == {"/bookings", "/all"}
    for path, sub in (("/bookings", bookings), ("/all", everything)):
        got = by_path[path]
        assert got.headers["webhook-id"] == f"webhook:{sub['id']}:evt_1"
        event = Webhook(sub["secret"]).verify(got.body, got.headers)
        assert (event["type"], event["data"]) == ("booking.confirmed", data)


async def test_nothing_is_sent_when_the_business_transaction_rolls_back(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@rollback.example.com", "Rollback Co")
    await subscribe(api, owner, receiver.url(), ["*"])

    async def failing_booking() -> None:
        async with app_of(api).state.container.db.unit_of_work(owner.org_id) as s:
            await service.publish(s, owner.org_id, "booking.confirmed", {}, "evt_rb")
            raise RuntimeError("the booking failed")

    with pytest.raises(RuntimeError):
        await failing_booking()
    assert await drain(api) == 0
    assert receiver.requests == []


async def test_during_rotation_both_secrets_verify_and_after_it_only_the_new(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@rotate.example.com", "Rotate Co")
    sub = await subscribe(api, owner, receiver.url())
    before = utcnow()
    r = await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/rotate-secret", headers=owner.auth)
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != sub["secret"]
    grace = rotated["previous_secret_valid_until"]
    assert grace is not None
    await _ping(api, owner, sub)
    await drain(api)
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (sub["secret"], rotated["secret"]):
        assert Webhook(secret).verify(during.body, during.headers)["type"] == "ping"
    listed = (await api.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)).json()
    assert listed["previous_secret_valid_until"] == grace
    assert timedelta(hours=23) < datetime.fromisoformat(grace) - before <= timedelta(hours=25)

    async with app_of(api).state.container.db.unit_of_work(system=True) as s:
        await s.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == uuid.UUID(sub["id"]))
            .values(previous_valid_until=utcnow() - timedelta(seconds=1))
        )
    await _ping(api, owner, sub)
    await drain(api)
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(rotated["secret"]).verify(after.body, after.headers)["type"] == "ping"
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(after.body, after.headers)


async def test_each_attempt_is_logged_with_status_latency_and_snippet(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@log.example.com", "Log Co")
    sub = await subscribe(api, owner, receiver.url())
    receiver.answer(500, "upstream exploded " + "x" * 1000)
    receiver.answer(200, "thanks")
    queued = await _ping(api, owner, sub)
    assert await drain(api) == 1
    [row] = await outbox_rows(api, "webhook.deliver")
    assert (row.status, row.attempts) == ("pending", 1)
    assert await drain(api) == 1
    [row] = await outbox_rows(api, "webhook.deliver")
    assert row.status == "done"
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]

    log = (await api.get("/v1/webhooks/deliveries", headers=owner.auth)).json()
    newest, oldest = log["items"]
    assert log["next_cursor"] is None
    assert (oldest["attempt"], oldest["ok"], oldest["status_code"]) == (1, False, 500)
    assert (newest["attempt"], newest["ok"], newest["status_code"]) == (2, True, 200)
    assert oldest["response_snippet"] == ("upstream exploded " + "x" * 1000)[:500]
    assert newest["response_snippet"] == "thanks"
    for entry in (oldest, newest):
        assert entry["latency_ms"] is not None
        assert entry["latency_ms"] >= 0
        assert entry["subscription_id"] == sub["id"]
        assert entry["event_type"] == "ping"
        assert entry["event_id"] == queued["event_id"]
        assert entry["message_id"] == queued["message_id"]

    failed = await api.get("/v1/webhooks/deliveries?ok=false", headers=owner.auth)
    assert [d["id"] for d in failed.json()["items"]] == [oldest["id"]]
    first = (await api.get("/v1/webhooks/deliveries?limit=1", headers=owner.auth)).json()
    assert [d["id"] for d in first["items"]] == [newest["id"]]
    second = await api.get(
        f"/v1/webhooks/deliveries?limit=1&cursor={first['next_cursor']}", headers=owner.auth
    )
    assert [d["id"] for d in second.json()["items"]] == [oldest["id"]]
    assert second.json()["next_cursor"] is None
    mine = await api.get(f"/v1/webhooks/deliveries?subscription_id={sub['id']}", headers=owner.auth)
    assert len(mine.json()["items"]) == 2


async def test_a_cursor_not_issued_here_is_refused(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@cursor.example.com", "Cursor Co")
    r = await api.get("/v1/webhooks/deliveries?cursor=bm90LWEtY3Vyc29y", headers=owner.auth)
    problem(r, 400, "invalid-cursor")


async def test_gone_disables_the_subscription_and_stops_deliveries(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@gone.example.com", "Gone Co")
    sub = await subscribe(api, owner, receiver.url(), ["booking.confirmed"])
    receiver.answer(410, "this endpoint was removed")
    await _ping(api, owner, sub)
    assert await drain(api) == 1
    [row] = await outbox_rows(api, "webhook.deliver")
    assert row.status == "dead"
    assert row.attempts == 1
    now = (await api.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)).json()
    assert now["active"] is False
    assert "410" in now["disabled_reason"]
    assert await _publish(api, owner, "booking.confirmed", {}, "evt_after_gone") == 0
    r = await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/ping", headers=owner.auth)
    problem(r, 409, "webhook-subscription-disabled")
    log = (await api.get("/v1/webhooks/deliveries", headers=owner.auth)).json()["items"]
    assert [(d["status_code"], d["ok"]) for d in log] == [(410, False)]

    r = await api.patch(
        f"/v1/webhooks/subscriptions/{sub['id']}", json={"active": True}, headers=owner.auth
    )
    assert (r.json()["active"], r.json()["disabled_reason"]) == (True, None)
    assert await _publish(api, owner, "booking.confirmed", {"n": 1}, "evt_back") == 1
    await drain(api)
    assert json.loads(receiver.requests[-1].body)["data"] == {"n": 1}


async def test_a_rejecting_receiver_dead_letters_without_retries(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@reject.example.com", "Reject Co")
    sub = await subscribe(api, owner, receiver.url())
    receiver.answer(400, "bad payload")
    await _ping(api, owner, sub)
    await drain(api)
    await drain(api)
    [row] = await outbox_rows(api, "webhook.deliver")
    assert (row.status, row.attempts) == ("dead", 1)
    assert len(receiver.requests) == 1
    again = (await api.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)).json()
    assert again["active"] is True


async def test_patch_vets_a_new_url(
    strict_api: httpx.AsyncClient, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@patch.example.com", "Patch Co")
    sub = await subscribe(api, owner, receiver.url())
    r = await strict_api.patch(
        f"/v1/webhooks/subscriptions/{sub['id']}",
        json={"url": "http://169.254.169.254/latest"},
        headers=owner.auth,
    )
    problem(r, 422, "invalid-webhook-url")
    r = await api.patch(
        f"/v1/webhooks/subscriptions/{sub['id']}",
        json={"url": receiver.url("/v2"), "events": ["lead.created"]},
        headers=owner.auth,
    )
    assert (r.json()["url"], r.json()["events"]) == (receiver.url("/v2"), ["lead.created"])
