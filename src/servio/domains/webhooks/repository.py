"""Queries of webhook tables, always scoped to one org."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.webhooks.models import WebhookDelivery, WebhookSubscription


def subscriptions(org_id: uuid.UUID) -> Select[WebhookSubscription]:
    return select(WebhookSubscription).where(WebhookSubscription.org_id == org_id)


async def subscription(
    session: AsyncSession, org_id: uuid.UUID, subscription_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription | None:
    statement = subscriptions(org_id).where(WebhookSubscription.id == subscription_id)
    return await session.scalar(statement.with_for_update() if lock else statement)


async def active_subscriptions(
    session: AsyncSession, org_id: uuid.UUID
) -> list[WebhookSubscription]:
    statement = subscriptions(org_id).where(WebhookSubscription.active.is_(True))
    return list((await session.scalars(statement.order_by(WebhookSubscription.created_at))).all())


def deliveries(
    org_id: uuid.UUID, *, subscription_id: uuid.UUID | None, ok: bool | None
) -> Select[WebhookDelivery]:
    """The org's attempts, of one subscription and outcome when given."""
    statement = select(WebhookDelivery).where(WebhookDelivery.org_id == org_id)
    if subscription_id is not None:
        statement = statement.where(WebhookDelivery.subscription_id == subscription_id)
    if ok is not None:
        statement = statement.where(WebhookDelivery.ok.is_(ok))
    return statement
