"""Retention: how long an org keeps chat transcripts and stale leads (settings
``retention.transcript_days``, default 180, and ``retention.stale_lead_days``, default
365), and the cleanup that prunes what is older, in the org only.

Transcripts are the conversations' turns and the channels' stored messages. Stale
leads are LOST leads untouched for the lead retention, and conversations that ended
STALE, ABANDONED or REJECTED as long ago, with the leads they made (unless booked)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations.machine import Stage
from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.domains.messaging import service as messaging
from servio.platform.db import utcnow
from servio.platform.db.scoped import in_org
from servio.platform.errors import DomainError

TRANSCRIPT_DAYS, STALE_LEAD_DAYS = "retention.transcript_days", "retention.stale_lead_days"
_DECLARED = identity.OrgSettings()
DEFAULTS = {TRANSCRIPT_DAYS: _DECLARED.transcript_days, STALE_LEAD_DAYS: _DECLARED.stale_lead_days}
MIN_DAYS, MAX_DAYS = 1, 3650
ENDED = (Stage.STALE, Stage.ABANDONED, Stage.REJECTED)


class RetentionSettingsInvalid(DomainError):
    status = 422
    type = "retention-settings-invalid"
    title = "The retention settings are out of range"
    description = f"Each retention is a whole number of days from {MIN_DAYS} to {MAX_DAYS}."


@dataclass(frozen=True)
class Retention:
    transcript_days: int = DEFAULTS[TRANSCRIPT_DAYS]
    stale_lead_days: int = DEFAULTS[STALE_LEAD_DAYS]

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def _days(settings: dict[str, Any], key: str) -> int:
    value = settings.get(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DAYS <= value <= MAX_DAYS:
        raise RetentionSettingsInvalid(
            f"{key} must be a whole number of days from {MIN_DAYS} to {MAX_DAYS}.",
            extra={"field": key, "value": value},
        )
    return value


async def retention(s: AsyncSession, org_id: uuid.UUID) -> Retention:
    """The org's retention; a stored value out of range is a 422."""
    settings = await identity.org_settings(s, org_id)
    return Retention(_days(settings, TRANSCRIPT_DAYS), _days(settings, STALE_LEAD_DAYS))


async def set_retention(s: AsyncSession, org_id: uuid.UUID, wanted: Retention) -> Retention:
    checked = Retention(
        _days({TRANSCRIPT_DAYS: wanted.transcript_days}, TRANSCRIPT_DAYS),
        _days({STALE_LEAD_DAYS: wanted.stale_lead_days}, STALE_LEAD_DAYS),
    )
    await identity.put_setting(s, org_id, TRANSCRIPT_DAYS, checked.transcript_days)
    await identity.put_setting(s, org_id, STALE_LEAD_DAYS, checked.stale_lead_days)
    return checked


async def cleanup(
    s: AsyncSession, org_id: uuid.UUID, now: datetime | None = None
) -> tuple[dict[str, int], Retention]:
    """Prune the org's old transcripts and stale leads; the counts of what went."""
    now = now or utcnow()
    kept = await retention(s, org_id)
    transcripts_before = now - timedelta(days=kept.transcript_days)
    leads_before = now - timedelta(days=kept.stale_lead_days)
    ended = list(
        (
            await s.execute(
                select(Conversation.id, Conversation.lead_id).where(
                    in_org(Conversation, org_id),
                    Conversation.stage.in_(ENDED),
                    Conversation.updated_at < leads_before,
                )
            )
        ).all()
    )
    ended_ids = [row_id for row_id, _ in ended]
    old_turns = ConversationTurn.created_at < transcripts_before
    turns = ConversationTurn.conversation_id.in_(ended_ids) | old_turns if ended_ids else old_turns
    deleted = {
        "transcripts": await _delete(
            s, delete(ConversationTurn).where(in_org(ConversationTurn, org_id), turns)
        ),
        "messages": await messaging.prune_messages(s, org_id, transcripts_before),
        "conversations": 0,
    }
    if ended_ids:
        deleted["conversations"] = await _delete(
            s,
            delete(Conversation).where(
                in_org(Conversation, org_id), Conversation.id.in_(ended_ids)
            ),
        )
    linked = frozenset(lead for _, lead in ended if lead is not None)
    deleted["leads"] = await intake.prune_leads(s, org_id, lost_before=leads_before, also=linked)
    return deleted, kept


async def _delete(s: AsyncSession, stmt: Any) -> int:
    result = await s.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
