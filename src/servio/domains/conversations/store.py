"""A conversation row and the machine's state, back and forth, and finding one row of
the org (locked when it is about to change)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import machine
from servio.domains.conversations.actions import Action
from servio.domains.conversations.models import Conversation
from servio.platform.db.scoped import get_owned, owned
from servio.platform.errors import NotFound


class ConversationNotFound(NotFound):
    type = "conversation-not-found"
    title = "No such conversation"


@dataclass(frozen=True)
class Handled:
    conversation: Conversation
    actions: list[Action]
    paused: bool = False  # panic mode: stored, not answered


def state_of(row: Conversation) -> machine.State:
    return machine.State(
        stage=row.stage,
        question=row.question,
        answers=dict(row.answers or {}),
        failures=dict(row.failures or {}),
        opted_out=row.opted_out,
        handed_over=row.handed_over,
        resume_stage=row.resume_stage,
    )


def store(row: Conversation, state: machine.State, now: datetime) -> None:
    row.stage, row.question, row.resume_stage = state.stage, state.question, state.resume_stage
    row.answers, row.failures = dict(state.answers), dict(state.failures)
    row.opted_out, row.handed_over = state.opted_out, state.handed_over
    row.version += 1
    row.updated_at = now


async def get(
    s: AsyncSession, org_id: uuid.UUID, conversation_id: uuid.UUID, *, lock: bool = False
) -> Conversation:
    """The org's conversation; 404 ``conversation-not-found`` otherwise."""
    missing = ConversationNotFound("No such conversation in this business.")
    return await get_owned(s, Conversation, conversation_id, org_id, missing=missing, lock=lock)


async def holding_booking(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID
) -> Conversation | None:
    """The org's conversation whose booking this is, locked for the change about it."""
    found: Conversation | None = await s.scalar(
        owned(Conversation, org_id).where(Conversation.booking_id == booking_id).with_for_update()
    )
    return found
