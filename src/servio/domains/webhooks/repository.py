"""Queries of webhook tables, always scoped to one org."""

from __future__ import annotations

import uuid

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.webhooks.models import WebhookDelivery, WebhookSubscription
from servio.platform.db.scoped import owned


def subscriptions(org_id: uuid.UUID) -> Select[WebhookSubscription]:
    return owned(WebhookSubscription, org_id)


async def active_subscriptions(
    session: AsyncSession, org_id: uuid.UUID
) -> list[WebhookSubscription]:
    statement = subscriptions(org_id).where(WebhookSubscription.active.is_(True))
    return list((await session.scalars(statement.order_by(WebhookSubscription.created_at))).all())


def deliveries(
    org_id: uuid.UUID, *, subscription_id: uuid.UUID | None, ok: bool | None
) -> Select[WebhookDelivery]:
    """The org's attempts, of one subscription and outcome when given."""
    statement = owned(WebhookDelivery, org_id)
    if subscription_id is not None:
        statement = statement.where(WebhookDelivery.subscription_id == subscription_id)
    if ok is not None:
        statement = statement.where(WebhookDelivery.ok.is_(ok))
    return statement
