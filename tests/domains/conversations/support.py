"""A tattoo studio for conversation tests: an owner, the tattoo vertical and two
artists working every day from 10:00 to 20:00."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

import httpx
from sqlalchemy import select

from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.identity.models import Org
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database
from tests.support.identity import Account, register

EVERY_DAY = {day: [(time(10), time(20))] for day in range(7)}


async def studio(api: httpx.AsyncClient, db: Database, name: str = "Ink Lab") -> Account:
    owner = await register(api, f"owner@{uuid.uuid4().hex[:8]}.example.com", name)
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical, org.currency, org.timezone = "tattoo", "CAD", "America/Edmonton"
        for artist in ("Mara", "Jun"):
            await scheduling.add_resource(s, owner.org_id, artist, "artist", EVERY_DAY)
    return owner


class Chat:
    """One web chat session with a business."""

    def __init__(self, api: httpx.AsyncClient, org: str, session_id: str = "session-0001") -> None:
        self.api, self.org, self.session_id = api, org, session_id
        self.last: dict[str, Any] = {}

    async def say(self, text: str = "", reply_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"session_id": self.session_id, "text": text}
        if reply_id is not None:
            body["reply_id"] = reply_id
        r = await self.api.post(f"/v1/chat/messages?org={self.org}", json=body)
        assert r.status_code == 200, r.text
        self.last = r.json()
        return self.last

    @property
    def texts(self) -> list[str]:
        return [a["text"] for a in self.last["actions"]]

    @property
    def types(self) -> list[str]:
        return [a["type"] for a in self.last["actions"]]


async def conversation(db: Database, conversation_id: str) -> Conversation:
    async with db.unit_of_work(system=True) as s:
        row = await s.get(Conversation, uuid.UUID(conversation_id))
    assert row is not None
    return row


async def turns(db: Database, conversation_id: str) -> list[ConversationTurn]:
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(
            select(ConversationTurn)
            .where(ConversationTurn.conversation_id == uuid.UUID(conversation_id))
            .order_by(ConversationTurn.created_at)
        )
        return list(rows)
