"""Panic mode, on both databases: while it is on the web chat answers nothing (paused)
and WhatsApp sends nothing, yet every inbound message is stored; the owners and admins
get one email for the period; switching it off resumes each conversation where it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.identity import service as identity
from servio.domains.messaging.models import ChannelMessage
from servio.domains.messaging.seed import PHONE_NUMBER_ID
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.domains.conversations.support import Chat, studio, turns
from tests.domains.messaging.conftest import envelope, post_signed, text_message, wa_settings
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.identity import Account, invite, mails, problem
from tests.support.live import serve

CLIENT = "15551230009"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def settings(db_url: str, tmp_path: Path, graph: FakeGraph) -> Settings:
    return wa_settings(db_url, tmp_path / "var", graph)


def _panic_mails(settings: Settings) -> list[str]:
    return sorted(str(m["To"]) for m in mails(settings.var_dir) if "paused" in str(m["Subject"]))


async def _switch(api: httpx.AsyncClient, who: Account, on: bool) -> dict[str, object]:
    body = {"on": on, "reason": "The bot quotes old prices"} if on else {"on": False}
    r = await api.put("/v1/admin/panic", json=body, headers=who.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_web_chat_pauses_and_resumes_and_staff_hear_once(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await studio(api, db)
    admin = await invite(api, owner, settings.var_dir, "admin@panic.example.com", "ADMIN")
    viewer = await invite(api, owner, settings.var_dir, "viewer@panic.example.com", "VIEWER")
    problem(
        await api.put("/v1/admin/panic", json={"on": True}, headers=viewer.auth), 403, "forbidden"
    )
    chat = Chat(api, owner.org_slug)
    await chat.say("Hi, I'd like a tattoo")
    assert chat.last["question"] == "idea"

    switched = await _switch(api, owner, True)
    assert switched["on"] is True
    assert switched["reason"] == "The bot quotes old prices"
    got = (await api.get("/v1/admin/panic", headers=admin.auth)).json()
    assert got["on"] is True
    assert got["by"]

    paused = await chat.say("A small fine-line swallow")
    assert paused["paused"] is True
    assert paused["actions"] == []
    assert paused["question"] == "idea"  # not moved on
    await chat.say("hello? anyone?")
    await deliver_outbox(api)
    assert _panic_mails(settings) == sorted([owner.email, admin.email])
    logged = await turns(db, paused["conversation_id"])
    assert [t.text for t in logged[-2:]] == ["A small fine-line swallow", "hello? anyone?"]
    assert all(t.actions == [] for t in logged[-2:])

    assert (await _switch(api, owner, False))["on"] is False
    resumed = await chat.say("A small fine-line swallow")
    assert resumed["paused"] is False
    assert resumed["actions"]
    assert resumed["question"] != "idea"  # the answer was taken where it left off
    r = await api.get(
        "/v1/admin/audit", params={"action": "conversations.panic.switched"}, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    assert [e["after"]["on"] for e in r.json()["items"]] == [False, True]

    await _switch(api, owner, True)  # a new period: told again
    await deliver_outbox(api)
    assert len(_panic_mails(settings)) == 4


async def _say(api: httpx.AsyncClient, wamid: str, ts: int, text: str) -> None:
    r = await post_signed(api, envelope([text_message(wamid, CLIENT, ts, text)]))
    assert r.status_code == 200, r.text
    await deliver_outbox(api)  # the engine runs
    await deliver_outbox(api)  # its replies, if any, are sent


async def test_whatsapp_stores_but_sends_nothing_while_paused(
    api: httpx.AsyncClient, db: Database, settings: Settings, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    async with db.unit_of_work(system=True) as s:
        await identity.put_setting(s, owner.org_id, "whatsapp.phone_number_id", PHONE_NUMBER_ID)
    await _say(api, "wamid.P1", 1_900_000_000, "Hi, I'd like a tattoo")
    sent = len(graph.sent)
    assert sent > 0

    await _switch(api, owner, True)
    await _say(api, "wamid.P2", 1_900_000_060, "A small rose with a thin stem")
    assert len(graph.sent) == sent  # nothing went out
    assert _panic_mails(settings) == [owner.email]
    async with db.unit_of_work(owner.org_id) as s:
        stored = await s.scalar(
            select(ChannelMessage).where(ChannelMessage.provider_message_id == "wamid.P2")
        )
        assert stored is not None
        assert stored.direction == "in"
        row = await s.scalar(select(Conversation).where(Conversation.channel == "whatsapp"))
        assert row is not None
        assert row.question == "idea"
        last = await s.scalar(
            select(ConversationTurn).where(ConversationTurn.text == "A small rose with a thin stem")
        )
        assert last is not None
        assert last.actions == []

    await _switch(api, owner, False)
    await _say(api, "wamid.P3", 1_900_000_120, "A small rose with a thin stem")
    assert len(graph.sent) > sent  # replies again
    assert _panic_mails(settings) == [owner.email]
