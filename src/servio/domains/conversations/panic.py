"""Panic mode: one switch per org (setting ``conversations.panic``) that pauses every
automated reply. While it is on, inbound messages are still stored (the channel's own
store, and a turn in the conversation's log with no actions) but the engine neither
answers nor moves the conversation, so switching it off resumes from where each
conversation was. The org's owners and admins get one email per panic period: when it
is switched on, or the first time a message arrives while it is on."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.identity import service as identity
from servio.platform.db import utcnow
from servio.platform.email import send_email

SETTING = "conversations.panic"
EMAIL_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "conversations/panic"


@dataclass(frozen=True)
class Panic:
    on: bool = False
    reason: str | None = None
    by: str | None = None  # who switched it, as the audit log names them
    at: str | None = None  # when, ISO 8601
    period: str | None = None  # one id per time it was switched on
    notified: bool = False  # staff were told about this period

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _of(value: Any) -> Panic:
    if not isinstance(value, dict):
        return Panic()
    known = {k: value[k] for k in Panic.__dataclass_fields__ if k in value}
    return Panic(**known)


async def state(s: AsyncSession, org_id: uuid.UUID) -> Panic:
    return _of((await identity.org_settings(s, org_id)).get(SETTING))


async def switch(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    on: bool,
    reason: str | None,
    by: str,
    now: datetime | None = None,
) -> Panic:
    """Switch panic mode; switching it on starts a new period and tells staff."""
    now = now or utcnow()
    current = await state(s, org_id)
    if on and current.on:
        found = Panic(**{**current.as_json(), "reason": reason or current.reason})
    elif on:
        found = Panic(True, reason, by, now.isoformat(), uuid.uuid4().hex)
    else:
        found = Panic(False, reason, by, now.isoformat(), current.period, current.notified)
    if on and not found.notified:
        await _notify(s, org_id, found, "switched on")
        found = Panic(**{**found.as_json(), "notified": True})
    await identity.put_setting(s, org_id, SETTING, found.as_json())
    return found


async def hold(
    s: AsyncSession,
    org_id: uuid.UUID,
    row: Conversation,
    text: str,
    reply_id: str | None,
    now: datetime,
) -> bool:
    """While panic mode is on: log the inbound message on the conversation, unanswered
    and without moving it, tell staff once per period, and return True."""
    current = await state(s, org_id)
    if not current.on:
        return False
    row.last_inbound_at = now
    s.add(ConversationTurn.unanswered(row, text, reply_id))
    if not current.notified:
        await _notify(s, org_id, current, f"a message arrived on {row.channel}")
        await identity.put_setting(s, org_id, SETTING, {**current.as_json(), "notified": True})
    await s.flush()
    return True


async def _notify(s: AsyncSession, org_id: uuid.UUID, panic: Panic, trigger: str) -> int:
    """One email per owner and admin; the period in the key keeps it to one each."""
    people = await identity.staff_emails(s, org_id, roles=("OWNER", "ADMIN"))
    for to in people:
        await send_email(
            s,
            to=to,
            template=TEMPLATE,
            context={
                "reason": panic.reason or "",
                "by": panic.by or "",
                "since": panic.at or "",
                "trigger": trigger,
            },
            dedupe_key=f"conversations-panic:{org_id}:{panic.period}:{to}",
            org_id=org_id,
        )
    return len(people)
