"""Reference images on WhatsApp: an image sent when the studio asks for references
answers the question (the answer names the stored message, whose media is fetched);
an image at any other point is attached to the conversation and the flow carries on;
"none" skips the question; a message type the engine cannot read is acknowledged,
kept as rejected and counted, and changes nothing."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from servio.domains.messaging.models import ChannelMessage
from servio.platform.db import Database
from servio.platform.inbox import ExternalEvent
from servio.platform.outbox.models import OutboxMessage
from tests.domains.conversations.whatsapp.support import (
    AFTER_REFERENCES,
    BEFORE_REFERENCES,
    Phone,
    consult,
    conversation,
    studio,
    texts,
)
from tests.support.fake_graph import FakeGraph

PICTURE = b"\xff\xd8\xff\xe0" + b"swallow sketch" * 40


async def _images(db: Database, org_id: uuid.UUID) -> list[ChannelMessage]:
    async with db.unit_of_work(org_id) as s:
        rows = await s.scalars(
            select(ChannelMessage)
            .where(ChannelMessage.kind == "image")
            .order_by(ChannelMessage.created_at)
        )
        return list(rows)


async def test_an_image_answers_the_references_question_and_later_ones_are_attached(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    for answer in BEFORE_REFERENCES:
        await phone.say(answer)
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.question) == ("QUALIFYING", "references")

    before = len(graph.sent)
    await phone.image("media-ref-1", PICTURE, caption="like this but smaller")
    [first] = await _images(db, owner.org_id)
    assert first.media_ref is not None  # fetched through the Graph client and stored
    row = await conversation(db, owner.org_id)
    assert row.answers["references"] == [f"media:{first.id}"]
    assert row.answers["_media"] == [f"media:{first.id}"]
    assert (row.stage, row.question, row.failures) == ("QUALIFYING", "budget", {})
    assert texts(graph, before) == ["What is your budget for the piece?"]

    # A second image while the budget is asked: attached, nothing re-asked or counted.
    before = len(graph.sent)
    await phone.image("media-ref-2", PICTURE + b"2")
    first, second = await _images(db, owner.org_id)
    row = await conversation(db, owner.org_id)
    assert row.answers["_media"] == [f"media:{first.id}", f"media:{second.id}"]
    assert row.answers["references"] == [f"media:{first.id}"]
    assert (row.stage, row.question, row.failures) == ("QUALIFYING", "budget", {})
    assert texts(graph, before) == []

    for answer in AFTER_REFERENCES:
        await phone.say(answer)
    row = await conversation(db, owner.org_id)
    assert (row.stage, row.answers["budget"]["amount_cents"]) == ("NEEDS_ARTIST_REVIEW", 40000)

    # After the questions: attached to the request, and the contact hears so.
    before = len(graph.sent)
    await phone.image("media-ref-3", PICTURE + b"3")
    row = await conversation(db, owner.org_id)
    assert len(row.answers["_media"]) == 3
    assert row.stage == "NEEDS_ARTIST_REVIEW"
    assert texts(graph, before) == ["Thanks, we've added the image to your request."]


async def test_none_skips_the_references_question(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    await consult(phone, references="none", pick=False)
    row = await conversation(db, owner.org_id)
    assert row.stage == "NEEDS_ARTIST_REVIEW"
    assert row.answers["references"] is None
    assert "_media" not in row.answers


async def test_unsupported_media_is_acknowledged_rejected_and_counted(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    for answer in BEFORE_REFERENCES:
        await phone.say(answer)
    before = len(graph.sent)
    voice = await phone.send("audio", {"id": "voice-1", "mime_type": "audio/ogg"})
    sticker = await phone.send("sticker", {"id": "sticker-1", "mime_type": "image/webp"})
    assert voice == sticker == {"received": True, "rejected": 1}
    assert texts(graph, before) == []
    row = await conversation(db, owner.org_id)
    assert (row.question, row.failures) == ("references", {})
    async with db.unit_of_work(system=True) as s:
        events = list(
            await s.scalars(select(ExternalEvent).where(ExternalEvent.outcome == "rejected"))
        )
        kinds = set(
            await s.scalars(select(ChannelMessage.kind).where(ChannelMessage.direction == "in"))
        )
        engine = await s.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "conversation.inbound")
        )
        engine_texts = [p["text"] for p in engine]
    assert sorted(e.error or "" for e in events) == [
        "unsupported message type 'audio'",
        "unsupported message type 'sticker'",
    ]
    assert kinds == {"text"}  # nothing stored for them, nothing sent to the engine
    assert len(engine_texts) == len(BEFORE_REFERENCES)
    metrics = await api.get("/metrics")
    assert 'servio_webhook_events_rejected_total{provider="whatsapp"} 2.0' in metrics.text
