"""Webhook subscriptions and publishing events to them.

An event is published inside the business transaction: one outbox message per active
subscription that wants its type, so a rolled-back change sends nothing. The message's
dedupe key ``webhook:{subscription}:{event}`` is also the ``webhook-id`` header, so a
receiver can drop the duplicates that at-least-once delivery may bring.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.webhooks import repository
from servio.domains.webhooks.config import WebhooksConfig
from servio.domains.webhooks.models import WebhookDelivery, WebhookSubscription
from servio.platform import outbox, pagination
from servio.platform.db import utcnow
from servio.platform.db.scoped import get_owned
from servio.platform.errors import Conflict, DomainError, NotFound
from servio.platform.webhooks_out import TargetRefused, TargetUnresolvable, check_url, new_secret

WEBHOOK_KIND = "webhook.deliver"
LEAD_EXPORT_KIND = "lead.export"
PING = "ping"


class SubscriptionNotFound(NotFound):
    type = "webhook-subscription-not-found"
    title = "No such webhook subscription"


class InvalidWebhookUrl(DomainError):
    status = 422
    type = "invalid-webhook-url"
    title = "The webhook URL is refused"
    description = (
        "The URL is not an absolute https URL (http only outside production), or its host "
        "resolves to a loopback, private, link-local or cloud metadata address."
    )


class SubscriptionDisabled(Conflict):
    type = "webhook-subscription-disabled"
    title = "The webhook subscription is disabled"
    description = "Re-enable it (PATCH with active=true) before sending it events."


async def vetted_url(url: str, config: WebhooksConfig) -> str:
    """``url`` when the guard would send to it now; 422 naming the reason otherwise."""
    try:
        await check_url(url, config.policy)
    except (TargetRefused, TargetUnresolvable) as exc:
        raise InvalidWebhookUrl(str(exc), extra={"url": url}) from None
    return url


def _unique(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


async def create_subscription(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    url: str,
    events: list[str],
    description: str | None,
    config: WebhooksConfig,
) -> WebhookSubscription:
    """A new endpoint with a fresh secret; its URL must pass the guard now."""
    row = WebhookSubscription(
        org_id=org_id,
        url=await vetted_url(url, config),
        events=_unique(events),
        description=description,
        secret=new_secret(),
        active=True,
    )
    session.add(row)
    await session.flush()
    return row


async def list_subscriptions(session: AsyncSession, org_id: uuid.UUID) -> list[WebhookSubscription]:
    """The org's subscriptions, oldest first."""
    statement = repository.subscriptions(org_id).order_by(WebhookSubscription.created_at)
    return list((await session.scalars(statement)).all())


async def get_subscription(
    session: AsyncSession, org_id: uuid.UUID, subscription_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription:
    """The org's subscription; 404 for an unknown id or another org's."""
    missing = SubscriptionNotFound("No webhook subscription with this id.")
    return await get_owned(
        session, WebhookSubscription, subscription_id, org_id, missing=missing, lock=lock
    )


async def update_subscription(
    session: AsyncSession,
    org_id: uuid.UUID,
    subscription_id: uuid.UUID,
    changes: dict[str, Any],
    config: WebhooksConfig,
) -> WebhookSubscription:
    """Change URL, events, description or active; a new URL passes the guard first,
    and re-enabling clears the reason it was disabled."""
    row = await get_subscription(session, org_id, subscription_id, lock=True)
    if changes.get("url") is not None:
        row.url = await vetted_url(changes["url"], config)
    if changes.get("events") is not None:
        row.events = _unique(changes["events"])
    if "description" in changes:
        row.description = changes["description"]
    if changes.get("active") is not None:
        row.active = changes["active"]
        row.disabled_reason = None if row.active else "disabled by a member"
    await session.flush()
    return row


async def delete_subscription(
    session: AsyncSession, org_id: uuid.UUID, subscription_id: uuid.UUID
) -> None:
    """Remove the endpoint and its delivery log; messages still queued are dropped."""
    await session.delete(await get_subscription(session, org_id, subscription_id))
    await session.flush()


async def rotate_secret(
    session: AsyncSession, org_id: uuid.UUID, subscription_id: uuid.UUID, config: WebhooksConfig
) -> WebhookSubscription:
    """A new secret signs from now on; the replaced one keeps signing alongside it for
    the grace period, so the receiver can switch without losing a delivery."""
    row = await get_subscription(session, org_id, subscription_id, lock=True)
    row.previous_secret = row.secret
    row.previous_valid_until = utcnow() + config.secret_grace
    row.secret = new_secret()
    await session.flush()
    return row


def message_id(subscription_id: uuid.UUID, event_id: str) -> str:
    """The outbox dedupe key and ``webhook-id`` of one event for one subscription."""
    return f"webhook:{subscription_id}:{event_id}"


def wants(subscription: WebhookSubscription, event_type: str) -> bool:
    """Whether the subscription asked for this event type (or for every type)."""
    return "*" in subscription.events or event_type in subscription.events


async def _enqueue(
    session: AsyncSession,
    subscription: WebhookSubscription,
    event_type: str,
    data: Any,
    event_id: str,
    occurred_at: datetime,
) -> str:
    key = message_id(subscription.id, event_id)
    body = {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data}
    payload = {
        "subscription_id": str(subscription.id),
        "event_type": event_type,
        "event_id": event_id,
        "body": body,
    }
    await outbox.add(
        session, kind=WEBHOOK_KIND, payload=payload, dedupe_key=key, org_id=subscription.org_id
    )
    return key


async def publish(
    session: AsyncSession,
    org_id: uuid.UUID,
    event_type: str,
    data: Any,
    event_id: str,
    *,
    occurred_at: datetime | None = None,
) -> int:
    """Queue ``event_type`` for every active subscription of the org that wants it, in
    the caller's transaction; returns how many deliveries were queued. Publishing the
    same ``event_id`` again queues nothing new."""
    at = occurred_at or utcnow()
    queued = 0
    for subscription in await repository.active_subscriptions(session, org_id):
        if wants(subscription, event_type):
            await _enqueue(session, subscription, event_type, data, str(event_id), at)
            queued += 1
    return queued


async def ping(
    session: AsyncSession, org_id: uuid.UUID, subscription_id: uuid.UUID
) -> tuple[str, str]:
    """Queue a ``ping`` event for one subscription; returns (event id, webhook-id)."""
    row = await get_subscription(session, org_id, subscription_id)
    if not row.active:
        raise SubscriptionDisabled(f"Disabled: {row.disabled_reason or 'no reason given'}.")
    event_id = f"ping_{uuid.uuid4().hex}"
    data = {"subscription_id": str(row.id)}
    return event_id, await _enqueue(session, row, PING, data, event_id, utcnow())


DeliveryPage = pagination.Page[WebhookDelivery]
NEWEST_FIRST = pagination.ByTimeAndId(WebhookDelivery.created_at, WebhookDelivery.id)


async def list_deliveries(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    subscription_id: uuid.UUID | None = None,
    ok: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The org's delivery attempts, newest first, a page at a time."""
    statement = repository.deliveries(org_id, subscription_id=subscription_id, ok=ok)
    return await pagination.keyset_page(
        session, statement, NEWEST_FIRST, cursor=cursor, limit=limit
    )


async def queue_lead_export(
    session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, lead: dict[str, Any]
) -> outbox.OutboxMessage:
    """Queue the export of one lead to the org's CRM in the caller's transaction (once
    per lead); a worker sends it signed to the URL configured when it runs."""
    payload = {"lead_id": str(lead_id), "timestamp": utcnow().isoformat(), "lead": lead}
    return await outbox.add(
        session,
        kind=LEAD_EXPORT_KIND,
        payload=payload,
        dedupe_key=f"lead-export:{lead_id}",
        org_id=org_id,
    )
