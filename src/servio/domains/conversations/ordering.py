"""One contact's messages in the channel's order: each conversation remembers the
channel's time and id of the newest message it applied. A message no newer than that
(Meta delivered it late, or a worker retried it after a newer one went through) is
kept on the transcript as a ``late`` turn and applied to nothing: it never moves the
conversation back. The outbox delivers one contact's queued messages one at a time in
that same order (the messaging domain queues them under the contact's ordering key).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import machine
from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.conversations.store import state_of


def is_late(row: Conversation, sent_at: datetime | None, ref: str | None) -> bool:
    """Whether a message sent at ``sent_at`` (id ``ref``) is no newer than the newest
    the conversation applied; messages without a channel time are never late."""
    if sent_at is None or row.last_message_at is None:
        return False
    return (sent_at, ref or "") <= (row.last_message_at, row.last_message_ref or "")


def applied(row: Conversation, sent_at: datetime | None, ref: str | None) -> None:
    """Remember the message just applied as the newest."""
    if sent_at is not None:
        row.last_message_at, row.last_message_ref = sent_at, ref


async def keep_late(
    s: AsyncSession,
    org_id: uuid.UUID,
    row: Conversation,
    text: str,
    reply_id: str | None,
    images: tuple[str, ...],
    sent_at: datetime | None,
) -> None:
    """Log a late message on the transcript without applying it; images it carried
    stay attached to the request."""
    if images:
        row.answers = dict(machine.attach(state_of(row), images).answers)
    s.add(ConversationTurn.unanswered(row, text, reply_id, sent_at=sent_at, late=True))
    await s.flush()
