"""The conversation engine on WhatsApp: signed inbound messages run through the studio's
consultation and the replies leave through the Graph API (a local fake); STOP keeps
the contact opted out until START."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from servio.domains.conversations.models import Conversation
from servio.domains.messaging.models import ChannelContact
from servio.platform.db import Database
from tests.domains.messaging.conftest import envelope, post_signed, text_message
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph

CLIENT = "15551230001"  # as Meta sends a sender: digits, no plus


async def _say(api: httpx.AsyncClient, wamid: str, ts: int, text: str) -> None:
    r = await post_signed(api, envelope([text_message(wamid, CLIENT, ts, text)]))
    assert r.status_code == 200, r.text
    await deliver_outbox(api)  # the engine runs
    await deliver_outbox(api)  # its replies are sent


def _texts(graph: FakeGraph, start: int = 0) -> list[str]:
    out = []
    for sent in graph.sent[start:]:
        body = sent["body"]
        out.append(body.get("text", {}).get("body") or body["interactive"]["body"]["text"])
    return out


async def test_a_consultation_runs_over_whatsapp_and_stop_is_honoured(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    await _say(api, "wamid.C1", 1_900_000_000, "Hi, I'd like a tattoo")
    [first_reply] = first = _texts(graph)  # greeting and question: one message, in order
    assert first_reply.startswith("Hi! Thanks for reaching out"), first_reply
    assert first_reply.endswith("Describe your idea in a sentence or two."), first_reply
    assert {s["body"]["to"].lstrip("+") for s in graph.sent} == {CLIENT}

    await _say(api, "wamid.C2", 1_900_000_060, "A small rose with a thin stem")
    second = _texts(graph, len(first))
    assert second, "the next question was sent"
    async with db.unit_of_work(studio) as s:
        row = await s.scalar(select(Conversation).where(Conversation.channel == "whatsapp"))
        assert row is not None
        assert row.answers["idea"] == "A small rose with a thin stem"

    await _say(api, "wamid.C3", 1_900_000_120, "STOP")
    sent_before = len(graph.sent)
    await _say(api, "wamid.C4", 1_900_000_180, "what about next week?")
    assert len(graph.sent) == sent_before  # opted out: nothing more goes out
    async with db.unit_of_work(studio) as s:
        contact = await s.scalar(select(ChannelContact))
        assert contact is not None
        assert contact.opted_out is True

    await _say(api, "wamid.C5", 1_900_000_240, "START")
    async with db.unit_of_work(studio) as s:
        contact = await s.scalar(select(ChannelContact).execution_options(populate_existing=True))
        assert contact is not None
        assert contact.opted_out is False
    assert len(graph.sent) > sent_before  # back: the bot answers again
