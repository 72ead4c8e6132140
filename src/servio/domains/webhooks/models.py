"""Webhook subscriptions of an org and the log of every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime


class WebhookSubscription(TenantBase):
    """An endpoint of a customer's system that receives the org's events, signed with
    its secret (and, for a grace period after a rotation, also with the previous one)."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(200), default=None)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), default=None)


class WebhookDelivery(TenantBase):
    """One attempt to deliver one event to one endpoint: what came back and how fast.
    ``subscription_id`` is empty for deliveries to the org's configured CRM."""

    __tablename__ = "webhook_deliveries"

    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), default=None
    )
    message_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(2048))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    response_snippet: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        Index("ix_webhook_deliveries_org_created", "org_id", "created_at", "id"),
        Index("ix_webhook_deliveries_subscription_id", "subscription_id"),
    )
