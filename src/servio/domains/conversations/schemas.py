"""What the conversation endpoints accept and return: web chat turns, a conversation
and its stage moves, the free-text date statistics, panic mode and transcript
retention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from servio.domains.conversations import panic, retention
from servio.domains.conversations.actions import Action
from servio.domains.conversations.machine import STAGES
from servio.domains.conversations.models import Conversation


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"session_id": "b7f2c9a1-web-3e", "text": "I'd like a small rose on my wrist"},
                {"session_id": "b7f2c9a1-web-3e", "text": "Medium", "reply_id": "medium"},
            ]
        },
    )
    session_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$", description="client-generated, kept per browser"
    )
    text: str = Field(default="", max_length=2000)
    reply_id: str | None = Field(
        default=None, max_length=120, description="the id of a button or list row pressed"
    )


class ChatReplyOut(BaseModel):
    conversation_id: uuid.UUID
    stage: str
    question: str | None
    actions: list[Action]
    paused: bool = False  # panic mode: the message was stored, nothing is sent back


class ConversationOut(BaseModel):
    id: uuid.UUID
    channel: str
    contact: str
    stage: str
    question: str | None
    answers: dict[str, Any]
    opted_out: bool
    handed_over: bool
    booking_id: uuid.UUID | None = None
    last_inbound_at: datetime | None
    version: int
    actions: list[Action] = Field(default_factory=list, description="to send to the contact")

    @classmethod
    def of(cls, row: Conversation, actions: list[Action] | None = None) -> ConversationOut:
        return cls(
            id=row.id,
            channel=row.channel,
            contact=row.contact,
            stage=row.stage,
            question=row.question,
            answers=row.answers,
            opted_out=row.opted_out,
            handed_over=row.handed_over,
            booking_id=row.booking_id,
            last_inbound_at=row.last_inbound_at,
            version=row.version,
            actions=actions or [],
        )


class StageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"stage": "AWAITING_DEPOSIT"}]}
    )
    stage: str = Field(pattern=f"^({'|'.join(STAGES)})$")


class SlotParseStatsOut(BaseModel):
    success: dict[str, int]
    reject: dict[str, int]
    total_success: int
    total_reject: int


class ChatTurnIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "org": "sparkle-clean",
                    "session_id": "b7f2c9a1-web-3e",
                    "text": "A 2 bedroom, 1 bath apartment",
                }
            ]
        },
    )
    org: str | None = Field(default=None, max_length=63, description="business slug")
    session_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    text: str = Field(default="", max_length=2000)
    reply_id: str | None = Field(default=None, max_length=120)


class ChatTurnOut(BaseModel):
    reply: str  # every text of the actions, one per line
    actions: list[Action]
    state: str  # the conversation's stage
    conversation_id: uuid.UUID
    question: str | None
    estimate: dict[str, Any] | None = None  # the core estimate, once the answers price
    paused: bool = False  # panic mode: the message was stored, nothing is sent back


class PanicIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"on": True, "reason": "The bot quotes last year's prices"},
                {"on": False},
            ]
        },
    )
    on: bool
    reason: str | None = Field(default=None, max_length=500)


class PanicOut(BaseModel):
    on: bool
    reason: str | None
    by: str | None = Field(description="who switched it last")
    at: str | None = Field(
        description="when it was switched last", json_schema_extra={"format": "date-time"}
    )

    @classmethod
    def of(cls, p: panic.Panic) -> PanicOut:
        return cls(on=p.on, reason=p.reason, by=p.by, at=p.at)


class RetentionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"transcript_days": 90, "stale_lead_days": 365}]},
    )
    transcript_days: int = Field(ge=retention.MIN_DAYS, le=retention.MAX_DAYS)
    stale_lead_days: int = Field(ge=retention.MIN_DAYS, le=retention.MAX_DAYS)


class RetentionOut(BaseModel):
    transcript_days: int
    stale_lead_days: int


class CleanupOut(BaseModel):
    deleted: dict[str, int] = Field(
        description="transcripts (turns), messages, leads and conversations deleted"
    )
    retention: RetentionOut
