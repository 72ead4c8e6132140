"""Conversations, one per (org, channel, contact), and the log of their turns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import Uuid as UuidType
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime, utcnow


class Conversation(TenantBase):
    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(20))
    contact: Mapped[str] = mapped_column(String(120))
    vertical: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(UuidType, default=None)
    # The booking opened when staff asked for the deposit.
    booking_id: Mapped[uuid.UUID | None] = mapped_column(UuidType, default=None, index=True)
    stage: Mapped[str] = mapped_column(String(24), default="NEW", index=True)
    resume_stage: Mapped[str | None] = mapped_column(String(24), default=None)
    question: Mapped[str | None] = mapped_column(String(40), default=None)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failures: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The channel's own time and id of the newest message applied: an older one that
    # arrives later is logged, not applied.
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_message_ref: Mapped[str | None] = mapped_column(String(255), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: each UPDATE is made ``WHERE version = <the version read>`` and
    # fails (StaleDataError) when another transaction changed the row first. The service
    # moves the version itself, on the changes its ETag or history stands for.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    __table_args__ = (
        UniqueConstraint("org_id", "channel", "contact", name="uq_conversations_contact"),
    )


class ConversationTurn(TenantBase):
    """One inbound message, what the engine answered, and how a date answer was read
    (``parse_outcome`` success or reject, by ``parse_kind``) for the stats. ``sent_at``
    is the channel's time of the message; ``late`` marks one that arrived after a newer
    message had been applied: kept on the transcript, not applied."""

    __tablename__ = "conversation_turns"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UuidType, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    reply_id: Mapped[str | None] = mapped_column(String(120), default=None)
    question: Mapped[str | None] = mapped_column(String(40), default=None)
    stage: Mapped[str] = mapped_column(String(24))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parse_outcome: Mapped[str | None] = mapped_column(String(10), default=None)
    parse_kind: Mapped[str | None] = mapped_column(String(40), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    __table_args__ = (Index("ix_conversation_turns_org_created", "org_id", "created_at"),)

    @classmethod
    def unanswered(
        cls, row: Conversation, text: str, reply_id: str | None, **extra: Any
    ) -> ConversationTurn:
        """A message logged on ``row``'s transcript as it stands, with no answer and no
        move (panic mode, a late message)."""
        return cls(
            org_id=row.org_id,
            conversation_id=row.id,
            text=text,
            reply_id=reply_id,
            question=row.question,
            stage=row.stage,
            actions=[],
            **extra,
        )
