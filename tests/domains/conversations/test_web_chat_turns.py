"""Two turns of one web chat session sent at the same time apply one after another:
each sees the state the other left, none is lost or applied twice."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from servio.platform.db import Database
from tests.domains.conversations.support import Chat, conversation, studio, turns

AT_ONCE = 4


async def test_concurrent_turns_of_one_session_apply_one_after_another(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug, "session-at-once")
    first = await chat.say("hi")
    assert first["question"] == "idea"
    before = await conversation(db, first["conversation_id"])

    async def say(text: str) -> dict[str, Any]:
        r = await api.post(
            f"/v1/chat/messages?org={owner.org_slug}",
            json={"session_id": "session-at-once", "text": text},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    # The same words each time: applied in turn they answer the idea, then the
    # placement, then miss the size twice, whichever request goes first.
    replies = await asyncio.gather(*(say("left forearm") for _ in range(AT_ONCE)))

    assert sorted(r["question"] for r in replies) == ["placement", "size", "size", "size"]
    row = await conversation(db, first["conversation_id"])
    assert (row.answers["idea"], row.answers["placement"]) == ("left forearm", "left forearm")
    assert (row.question, row.failures) == ("size", {"size": 2})
    assert row.version == before.version + AT_ONCE
    logged = await turns(db, first["conversation_id"])
    assert [t.question for t in logged] == [None, "idea", "placement", "size", "size"]
