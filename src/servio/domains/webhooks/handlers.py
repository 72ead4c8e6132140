"""Outbox handlers: deliver a webhook event to one subscription, export one lead to the
org's CRM. Each attempt is logged (status, latency, the start of the answer) in its own
transaction, then the outcome goes back to the outbox: retry, or dead letter."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from servio.domains.webhooks.config import WebhooksConfig
from servio.domains.webhooks.lead_export import lead_export_target
from servio.domains.webhooks.models import WebhookDelivery, WebhookSubscription
from servio.domains.webhooks.service import LEAD_EXPORT_KIND, WEBHOOK_KIND
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import in_org
from servio.platform.logging import get_logger
from servio.platform.outbox import Delivery, OutboxRegistry, PermanentFailure
from servio.platform.webhooks_out import (
    Attempt,
    SecretRing,
    Sender,
    Verdict,
    settle,
    signed_headers,
)

log = get_logger("servio.webhooks")


def _body(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _org_of(delivery: Delivery) -> uuid.UUID:
    if delivery.org_id is None:
        raise PermanentFailure("a webhook message must belong to an org")
    return delivery.org_id


@dataclass(frozen=True)
class Deliverer:
    db: Database
    config: WebhooksConfig
    sender: Sender

    async def deliver_event(self, delivery: Delivery) -> None:
        """Sign and send one event to one subscription (skipped once it is disabled or
        deleted); a 410 answer disables the subscription."""
        org_id, payload = _org_of(delivery), delivery.payload
        subscription_id = uuid.UUID(payload["subscription_id"])
        async with self.db.unit_of_work(org_id) as s:
            sub = await s.get(WebhookSubscription, subscription_id)
        if sub is None or sub.org_id != org_id or not sub.active:
            log.info("webhook_skipped", subscription_id=str(subscription_id), reason="inactive")
            return
        body = _body(payload["body"])
        ring = SecretRing(sub.secret, sub.previous_secret, sub.previous_valid_until)
        headers = signed_headers(ring.signing_secrets(utcnow()), delivery.dedupe_key, body)
        attempt = await self.sender.post(sub.url, body, headers)
        async with self.db.unit_of_work(org_id) as s:
            s.add(self._log(delivery, org_id, sub.url, attempt, subscription_id))
            if attempt.verdict == Verdict.GONE:
                await s.execute(
                    update(WebhookSubscription)
                    .where(
                        WebhookSubscription.id == subscription_id,
                        in_org(WebhookSubscription, org_id),
                    )
                    .values(active=False, disabled_reason="the receiver answered 410 Gone")
                )
        settle(attempt)

    async def export_lead(self, delivery: Delivery) -> None:
        """Sign and send one lead to the org's CRM URL; without a configured URL the
        export waits in the dead letter until an admin configures one and replays it."""
        org_id, payload = _org_of(delivery), delivery.payload
        async with self.db.unit_of_work(org_id) as s:
            url, secret = await lead_export_target(s, org_id)
        if not url or not secret:
            raise PermanentFailure("no CRM webhook URL is configured for lead exports")
        body = _body(
            {"type": LEAD_EXPORT_KIND, "timestamp": payload["timestamp"], "data": payload["lead"]}
        )
        attempt = await self.sender.post(
            url, body, signed_headers([secret], delivery.dedupe_key, body)
        )
        async with self.db.unit_of_work(org_id) as s:
            s.add(self._log(delivery, org_id, url, attempt, None))
        settle(attempt)

    @staticmethod
    def _log(
        delivery: Delivery,
        org_id: uuid.UUID,
        url: str,
        attempt: Attempt,
        subscription_id: uuid.UUID | None,
    ) -> WebhookDelivery:
        payload = delivery.payload
        event_type = payload.get("event_type", delivery.kind)
        event_id = payload.get("event_id") or payload.get("lead_id") or str(delivery.id)
        return WebhookDelivery(
            org_id=org_id,
            subscription_id=subscription_id,
            message_id=delivery.dedupe_key,
            event_type=event_type,
            event_id=str(event_id),
            url=url,
            attempt=delivery.attempt,
            ok=attempt.ok,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
            response_snippet=attempt.response_snippet,
        )


def register_handlers(
    registry: OutboxRegistry, db: Database, config: WebhooksConfig, sender: Sender
) -> None:
    """Give the outbox the webhook kinds, sent through ``sender`` (its owner closes it).
    No circuit breaker: each endpoint is a different customer's system, and one failing
    must not hold back the others."""
    deliverer = Deliverer(db, config, sender)
    policy = config.policy
    budget = 2 * policy.connect_timeout + policy.read_timeout + 5  # resolve, connect, read
    registry.register(WEBHOOK_KIND, deliverer.deliver_event, timeout_seconds=budget)
    registry.register(LEAD_EXPORT_KIND, deliverer.export_lead, timeout_seconds=budget)
