"""A consultation that reaches NEEDS_ARTIST_REVIEW asks the studio for a decision: a
``conversation.review_requested`` outbox message (once per arrival at that stage),
which the action links' handler turns into an email to the owners and admins with
single-use Approve and Reject links. ``review_summary`` is what that email shows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations.flows import flow_for
from servio.domains.conversations.machine import Stage
from servio.domains.conversations.models import Conversation
from servio.platform import outbox

REVIEW_REQUESTED = "conversation.review_requested"
REVIEW_STAGE = Stage.NEEDS_ARTIST_REVIEW


async def request_review(
    s: AsyncSession, org_id: uuid.UUID, row: Conversation, now: datetime
) -> None:
    await outbox.add(
        s,
        kind=REVIEW_REQUESTED,
        payload={"conversation_id": str(row.id)},
        dedupe_key=f"review-requested:{row.id}:{now.isoformat()}",
        org_id=org_id,
    )


def _shown(value: object) -> str:
    if isinstance(value, list):
        return f"{len(value)} image(s)" if value else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if not str(k).startswith("_"))
    return str(value)


def review_summary(row: Conversation, vertical: str) -> list[tuple[str, str]]:
    """The consultation's answers in the flow's order, labelled by question key."""
    answers = row.answers or {}
    keys = [q.key for q in flow_for(vertical).questions]
    return [
        (key.replace("_", " ").capitalize(), _shown(answers[key]))
        for key in keys
        if key in answers and answers[key] not in (None, "")
    ]
