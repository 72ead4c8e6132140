"""Subscriptions through the real API: creation with a secret shown once, the guard at
creation (422), the dev allowlist, permissions, cross-org ids, deletion, audit."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from servio.domains.webhooks.models import WebhookSubscription
from tests.support.app import app_of
from tests.support.identity import new_key, problem, register
from tests.support.receiver import Receiver
from tests.support.webhooks import drain, outbox_rows, subscribe


async def _count(api: httpx.AsyncClient) -> int:
    async with app_of(api).state.container.db.unit_of_work(system=True) as s:
        return int(await s.scalar(select(func.count()).select_from(WebhookSubscription)) or 0)


async def test_create_shows_the_secret_once_and_lists_without_it(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@hooks.example.com", "Hooks Co")
    r = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": receiver.url(), "events": ["booking.confirmed", "booking.confirmed", "*"]},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["booking.confirmed", "*"]
    assert created["active"] is True
    listed = (await api.get("/v1/webhooks/subscriptions", headers=owner.auth)).json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = await api.get(f"/v1/webhooks/subscriptions/{created['id']}", headers=owner.auth)
    assert one.status_code == 200
    assert "secret" not in one.json()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),
        ("http://10.0.0.8/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://100.64.0.9/hook", "carrier-grade NAT"),
        ("http://[fd00::1]/hook", "unique-local"),
        ("http://169.254.10.10/hook", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("ftp://hooks.example.com/hook", "must use"),
        ("not a url", "must use"),
        ("https://user:secret@hooks.example.com/hook", "credentials"),
    ],
)
async def test_forbidden_or_invalid_urls_are_refused_at_creation(
    strict_api: httpx.AsyncClient, url: str, says: str
) -> None:
    owner = await register(strict_api, "owner@strict.example.com", "Strict Co")
    r = await strict_api.post(
        "/v1/webhooks/subscriptions", json={"url": url, "events": ["*"]}, headers=owner.auth
    )
    body = problem(r, 422, "invalid-webhook-url")
    assert says in str(body["detail"])
    assert await _count(strict_api) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/",
        "http://0.0.0.0/",
    ],
)
async def test_the_allowlist_never_opens_metadata_or_unspecified_addresses(
    api: httpx.AsyncClient, url: str
) -> None:
    owner = await register(api, "owner@allow.example.com", "Allow Co")
    r = await api.post(
        "/v1/webhooks/subscriptions", json={"url": url, "events": ["*"]}, headers=owner.auth
    )
    problem(r, 422, "invalid-webhook-url")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://hooks.example.com/x", "events": []},
        {"url": "https://hooks.example.com/x", "events": ["Booking Confirmed"]},
        {"url": "https://hooks.example.com/x"},
        {"url": "", "events": ["*"]},
        {"url": "https://hooks.example.com/x", "events": ["*"], "secret": "mine"},
    ],
)
async def test_malformed_bodies_are_validation_errors(
    strict_api: httpx.AsyncClient, body: dict[str, object]
) -> None:
    owner = await register(strict_api, "owner@shape.example.com", "Shape Co")
    r = await strict_api.post("/v1/webhooks/subscriptions", json=body, headers=owner.auth)
    problem(r, 422, "validation-error")


async def test_the_dev_allowlist_lets_a_loopback_receiver_through(
    api: httpx.AsyncClient, strict_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@dev.example.com", "Dev Co")
    refused = await strict_api.post(
        "/v1/webhooks/subscriptions",
        json={"url": receiver.url(), "events": ["*"]},
        headers=owner.auth,
    )
    problem(refused, 422, "invalid-webhook-url")
    sub = await subscribe(api, owner, receiver.url())
    r = await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/ping", headers=owner.auth)
    assert r.status_code == 202
    assert await drain(api) == 1
    assert len(receiver.requests) == 1


async def test_a_url_that_turned_private_is_refused_at_send_time(
    api: httpx.AsyncClient, strict_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Saved while allowed, sent by a worker whose guard refuses it: not delivered."""
    owner = await register(api, "owner@rebind.example.com", "Rebind Co")
    sub = await subscribe(api, owner, receiver.url())
    await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/ping", headers=owner.auth)
    assert await drain(strict_api) == 1
    assert receiver.requests == []
    [row] = await outbox_rows(api, "webhook.deliver")
    assert row.status == "dead"
    assert "loopback" in (row.last_error or "")
    log = (await api.get("/v1/webhooks/deliveries", headers=owner.auth)).json()["items"]
    assert [(d["ok"], d["status_code"]) for d in log] == [(False, None)]
    assert "refused" in log[0]["error"]


async def test_subscriptions_need_the_webhooks_permission(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@perm.example.com", "Perm Co")
    key = await new_key(api, owner.auth, permissions=["bookings:read"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    r = await api.get("/v1/webhooks/subscriptions", headers=headers)
    assert problem(r, 403, "forbidden")["permission"] == "webhooks:manage"
    r = await api.post(
        "/v1/webhooks/subscriptions", json={"url": receiver.url(), "events": ["*"]}, headers=headers
    )
    problem(r, 403, "forbidden")
    hooks_key = await new_key(api, owner.auth, permissions=["webhooks:manage"])
    r = await api.get(
        "/v1/webhooks/subscriptions", headers={"Authorization": f"Bearer {hooks_key['key']}"}
    )
    assert r.status_code == 200


async def test_another_orgs_subscription_is_not_found(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    a = await register(api, "owner@a.example.com", "Org A")
    b = await register(api, "owner@b.example.com", "Org B")
    theirs = await subscribe(api, b, receiver.url())
    path = f"/v1/webhooks/subscriptions/{theirs['id']}"
    attempts = [
        await api.get(path, headers=a.auth),
        await api.patch(path, json={"active": False}, headers=a.auth),
        await api.post(f"{path}/rotate-secret", headers=a.auth),
        await api.post(f"{path}/ping", headers=a.auth),
        await api.delete(path, headers=a.auth),
    ]
    for r in attempts:
        body = problem(r, 404, "webhook-subscription-not-found")
        assert theirs["id"] not in str({k: v for k, v in body.items() if k != "instance"})
    assert (await api.get("/v1/webhooks/subscriptions", headers=a.auth)).json() == []
    r = await api.get(f"/v1/webhooks/deliveries?subscription_id={theirs['id']}", headers=a.auth)
    assert r.json()["items"] == []
    still = (await api.get(path, headers=b.auth)).json()
    assert still["active"] is True
    assert still["previous_secret_valid_until"] is None
    assert await outbox_rows(api, "webhook.deliver") == []


async def test_delete_removes_it_and_drops_what_was_queued(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@del.example.com", "Del Co")
    sub = await subscribe(api, owner, receiver.url())
    await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/ping", headers=owner.auth)
    r = await api.delete(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)
    assert r.status_code == 204
    gone = await api.get(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)
    problem(gone, 404, "webhook-subscription-not-found")
    assert await drain(api) == 1
    assert receiver.requests == []
    again = await api.delete(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)
    problem(again, 404, "webhook-subscription-not-found")


async def test_admin_writes_are_audited_without_secrets(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await register(api, "owner@audit.example.com", "Audit Co")
    sub = await subscribe(api, owner, receiver.url())
    rotated = await api.post(
        f"/v1/webhooks/subscriptions/{sub['id']}/rotate-secret", headers=owner.auth
    )
    await api.delete(f"/v1/webhooks/subscriptions/{sub['id']}", headers=owner.auth)
    events = (await api.get("/v1/admin/audit?action=webhook.*", headers=owner.auth)).json()
    actions = [e["action"] for e in events["items"]]
    assert actions == [
        "webhook.subscription.deleted",
        "webhook.secret.rotated",
        "webhook.subscription.created",
    ]
    text = str(events)
    assert sub["secret"] not in text
    assert rotated.json()["secret"] not in text
    assert all(e["target"] == f"webhook_subscription:{sub['id']}" for e in events["items"])


async def test_unknown_ids_are_not_found(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@none.example.com", "None Co")
    r = await api.post(f"/v1/webhooks/subscriptions/{uuid.uuid4()}/ping", headers=owner.auth)
    problem(r, 404, "webhook-subscription-not-found")
