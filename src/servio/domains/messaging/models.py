"""Contacts and messages of every chat channel, stored the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime, utcnow


class ChannelContact(TenantBase):
    """Someone an org talks to on a channel, by address (E.164 for WhatsApp).

    ``last_inbound_at`` opens the channel's customer-service window (24 h on WhatsApp);
    ``opted_out`` stops every automated message to the contact."""

    __tablename__ = "channel_contacts"

    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("org_id", "channel", "address", name="uq_channel_contacts_address"),
    )


class ChannelMessage(TenantBase):
    """One message in or out. ``provider_message_id`` (a wamid on WhatsApp) is unique per
    channel; outbound rows get it when the provider accepts the message. ``status``:
    received for inbound; queued, sent, delivered, read, failed, skipped or dry_run
    for outbound."""

    __tablename__ = "channel_messages"

    channel: Mapped[str] = mapped_column(String(20))
    contact: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(3))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSON, default=dict)
    media_ref: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_channel_messages_provider_id"),
        Index("ix_channel_messages_thread", "org_id", "channel", "contact", "created_at"),
    )
