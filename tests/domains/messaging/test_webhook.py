"""The WhatsApp webhook: Meta's handshake, signatures, and each message stored once,
in timestamp order, with the conversation engine told through the outbox."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servio.domains.messaging.models import ChannelContact, ChannelMessage
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.inbox import ExternalEvent
from servio.platform.outbox import OutboxMessage
from tests.domains.messaging.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    entry,
    envelope,
    post_signed,
    text_message,
)
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph, sign

CLIENT = "15551230001"


async def _messages(db: Database) -> list[ChannelMessage]:
    async with db.system_session() as s:
        rows = await s.scalars(select(ChannelMessage).order_by(ChannelMessage.created_at))
        return list(rows)


async def _outbox(db: Database, kind: str) -> list[OutboxMessage]:
    async with db.system_session() as s:
        rows = await s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.created_at)
        )
        return list(rows)


@pytest.mark.parametrize("sep", [".", "_"])
async def test_verify_answers_the_challenge(api: httpx.AsyncClient, sep: str) -> None:
    params = {
        f"hub{sep}mode": "subscribe",
        f"hub{sep}verify_token": VERIFY_TOKEN,
        f"hub{sep}challenge": "1158201444",
    }
    r = await api.get("/webhooks/whatsapp", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub_mode": "unsubscribe", "hub_verify_token": VERIFY_TOKEN, "hub_challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
    ],
)
async def test_verify_refuses_anything_else(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    r = await api.get("/webhooks/whatsapp", params=params)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/whatsapp-verification-refused")


async def test_signature_missing_or_wrong_is_401(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    body = json.dumps(envelope([text_message("wamid.A", CLIENT, 1700000000, "hi")])).encode()
    missing = await api.post("/webhooks/whatsapp", content=body)
    wrong = await api.post(
        "/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": sign(body, "other")}
    )
    tampered = await api.post(
        "/webhooks/whatsapp",
        content=body + b" ",
        headers={"X-Hub-Signature-256": sign(body, APP_SECRET)},
    )
    for r in (missing, wrong, tampered):
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/invalid-webhook-signature")
    assert await _messages(db) == []
    right = await api.post(
        "/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": sign(body, APP_SECRET)}
    )
    assert right.status_code == 200
    assert right.json() == {"received": True, "stored": 1}


async def test_a_malformed_body_is_acknowledged_kept_as_rejected_and_counted(
    api: httpx.AsyncClient, db: Database
) -> None:
    for body in (b"{not json", b"[1, 2]"):
        r = await api.post(
            "/webhooks/whatsapp",
            content=body,
            headers={"X-Hub-Signature-256": sign(body, APP_SECRET)},
        )
        assert r.status_code == 200  # Meta would retry anything else for days
        assert r.json() == {"received": True, "rejected": 1}
    async with db.unit_of_work(system=True) as s:
        rows = list(await s.scalars(select(ExternalEvent).order_by(ExternalEvent.received_at)))
    assert [(e.provider, e.outcome) for e in rows] == [("whatsapp", "rejected")] * 2
    assert rows[0].payload == {"raw": "{not json"}
    exposition = (await api.get("/metrics")).text
    assert 'servio_webhook_events_rejected_total{provider="whatsapp"} 2.0' in exposition


async def test_text_stored_once_and_handed_to_the_engine(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    payload = envelope([text_message("wamid.T1", CLIENT, 1700000000, "I want a rose on my arm")])
    first = await post_signed(api, payload)
    again = await post_signed(api, payload)
    assert first.json() == {"received": True, "stored": 1}
    assert again.json() == {"received": True, "duplicate": 1}
    [message] = await _messages(db)
    assert (message.org_id, message.contact, message.direction, message.kind) == (
        studio,
        "+" + CLIENT,
        "in",
        "text",
    )
    assert (message.provider_message_id, message.text, message.status) == (
        "wamid.T1",
        "I want a rose on my arm",
        "received",
    )
    [hook] = await _outbox(db, "conversation.inbound")
    assert hook.org_id == studio
    assert hook.payload == {
        "org_id": str(studio),
        "channel": "whatsapp",
        "contact": "+" + CLIENT,
        "message_id": str(message.id),
        "provider_message_id": "wamid.T1",
        "sent_at": "2023-11-14T22:13:20+00:00",
        "text": "I want a rose on my arm",
        "reply_id": None,
    }
    # The contact's messages reach the engine one at a time, in WhatsApp's order.
    assert hook.ordering_key == f"contact:{studio}:whatsapp:+{CLIENT}"
    assert hook.ordering_time is not None
    assert hook.ordering_time.timestamp() == 1700000000
    async with db.system_session() as s:
        contact = await s.scalar(select(ChannelContact))
        events = list(await s.scalars(select(ExternalEvent)))
    assert contact is not None
    assert contact.name == "Client 0001"
    assert not contact.opted_out
    assert contact.last_inbound_at is not None
    assert contact.last_inbound_at.timestamp() == 1700000000
    assert [(e.provider, e.event_id, e.outcome) for e in events] == [
        ("whatsapp", "wamid.T1", "stored")
    ]


async def test_entries_and_changes_processed_in_timestamp_order(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    late = entry(
        [
            text_message("wamid.3", CLIENT, 1700000030, "third"),
            text_message("wamid.1", CLIENT, 1700000010, "first"),
        ]
    )
    early = entry([text_message("wamid.2", "15551230002", 1700000020, "second")])
    early["changes"].append(
        entry([text_message("wamid.0", CLIENT, 1700000000, "zeroth")])["changes"][0]
    )
    r = await post_signed(api, {"object": "whatsapp_business_account", "entry": [late, early]})
    assert r.json() == {"received": True, "stored": 4}
    assert [m.text for m in await _messages(db)] == ["zeroth", "first", "second", "third"]
    hooks = await _outbox(db, "conversation.inbound")
    assert [h.payload["text"] for h in hooks] == ["zeroth", "first", "second", "third"]


async def test_interactive_replies_parsed(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    button = {
        "from": CLIENT,
        "id": "wamid.B",
        "timestamp": "1700000000",
        "type": "interactive",
        "interactive": {
            "type": "button_reply",
            "button_reply": {"id": "slot-1", "title": "Tue 3 pm"},
        },
    }
    listed = {
        "from": CLIENT,
        "id": "wamid.L",
        "timestamp": "1700000001",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": "style-fineline", "title": "Fine line", "description": "Thin"},
        },
    }
    assert (await post_signed(api, envelope([button, listed]))).status_code == 200
    stored = await _messages(db)
    assert [(m.kind, m.text, m.payload["reply_id"]) for m in stored] == [
        ("interactive", "Tue 3 pm", "slot-1"),
        ("interactive", "Fine line", "style-fineline"),
    ]
    hooks = await _outbox(db, "conversation.inbound")
    assert [(h.payload["reply_id"], h.payload["text"]) for h in hooks] == [
        ("slot-1", "Tue 3 pm"),
        ("style-fineline", "Fine line"),
    ]


async def test_unknown_phone_number_id_is_ignored(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    r = await post_signed(
        api, envelope([text_message("wamid.X", CLIENT, 1700000000, "hi")], phone_number_id="999")
    )
    assert r.status_code == 200
    assert r.json() == {"received": True, "ignored": 1}
    assert await _messages(db) == []


async def test_status_only_and_junk_payloads_answer_200(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    for payload in (
        {"object": "whatsapp_business_account"},
        {"entry": [{"changes": [{"value": "x"}]}]},
        [1, 2],
    ):
        r = await post_signed(api, payload)
        assert r.status_code == 200, payload
        rejected = {"rejected": 1} if isinstance(payload, list) else {}  # not an object
        assert r.json() == {"received": True} | rejected
    statuses = [
        {
            "id": "wamid.unknown",
            "status": "delivered",
            "timestamp": "1700000000",
            "recipient_id": CLIENT,
        }
    ]
    r = await post_signed(api, envelope(statuses=statuses))
    assert r.json() == {"received": True, "ignored": 1}


async def test_image_fetched_through_the_outbox(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph, settings: Settings
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + b"reference" * 50
    graph.media["media-77"] = (picture, "image/png")
    image = {
        "from": CLIENT,
        "id": "wamid.I",
        "timestamp": "1700000000",
        "type": "image",
        "image": {"id": "media-77", "mime_type": "image/png", "caption": "like this"},
    }
    assert (await post_signed(api, envelope([image]))).json() == {"received": True, "stored": 1}
    [before] = await _messages(db)
    assert (before.kind, before.text, before.media_ref) == ("image", "like this", None)
    [engine] = await _outbox(db, "conversation.inbound")  # the image reaches the engine
    assert (engine.payload["text"], engine.payload["media"]) == (
        "like this",
        [f"media:{before.id}"],
    )
    await deliver_outbox(api)
    [fetched] = await _outbox(db, "whatsapp.media")
    assert fetched.status == "done"
    [after] = [m for m in await _messages(db) if m.direction == "in"]
    digest = hashlib.sha256(picture).hexdigest()
    assert after.media_ref == f"media/{studio}/{digest}"
    assert after.payload["media"] == {
        "mime_type": "image/png",
        "sha256": digest,
        "bytes": len(picture),
    }
    assert (Path(settings.var_dir) / after.media_ref).read_bytes() == picture


async def test_missing_media_is_dead_lettered(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID
) -> None:
    image = {
        "from": CLIENT,
        "id": "wamid.I2",
        "timestamp": "1700000000",
        "type": "image",
        "image": {"id": "gone"},
    }
    await post_signed(api, envelope([image]))
    await deliver_outbox(api)
    [fetch] = await _outbox(db, "whatsapp.media")
    assert fetch.status == "dead"
    assert "Unsupported get request" in str(fetch.last_error)
