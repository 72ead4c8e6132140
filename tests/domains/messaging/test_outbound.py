"""Sending on WhatsApp through the outbox and a local fake Graph API: free text inside
the 24 h window, the approved template outside it, the pilot allowlist, dry runs, and
Meta's errors (4xx final, 5xx retried); statuses then land on the sent message."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from servio.domains.identity import service as identity
from servio.domains.messaging import service as messaging
from servio.domains.messaging.models import ChannelMessage
from servio.platform.db import Database, utcnow
from servio.platform.outbox import OutboxMessage
from tests.domains.messaging.conftest import envelope, post_signed, wa_settings
from tests.support.app import app_client, app_of, deliver_outbox
from tests.support.fake_graph import FakeGraph, meta_error

CLIENT = "+15551230001"


def now_ts() -> int:
    return int(utcnow().timestamp())


async def _open_window(api: httpx.AsyncClient, number: str = CLIENT) -> None:
    """The contact wrote a moment ago, so the 24 h window is open. Set on the contact
    directly: a real message would start a consultation whose replies mix with the
    sends under test (the engine's replies are tested in test_conversation_channel)."""
    async with app_of(api).state.container.db.unit_of_work(system=True) as s:
        org = await identity.get_org_by_slug(s, "inkwell-tattoo")
        contact = await messaging.ensure_contact(s, org.id, "whatsapp", number)
        contact.last_inbound_at = utcnow()


async def _send(db: Database, org_id: uuid.UUID, key: str, **content: object) -> uuid.UUID:
    content.setdefault("to", CLIENT)
    async with db.unit_of_work(org_id) as s:
        message = await messaging.send(s, org_id, dedupe_key=key, **content)  # type: ignore[arg-type]
        return message.id


async def _row(db: Database, message_id: uuid.UUID) -> ChannelMessage:
    async with db.system_session() as s:
        row = await s.get(ChannelMessage, message_id)
    assert row is not None
    return row


async def _sends(db: Database) -> list[OutboxMessage]:
    async with db.system_session() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "whatsapp.send"))
        return list(rows)


async def test_text_inside_the_window_then_statuses(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    await _open_window(api)
    message_id = await _send(db, studio, "welcome", text="Thanks! What would you like?")
    again = await _send(db, studio, "welcome", text="Thanks! What would you like?")
    assert again == message_id
    assert (await _row(db, message_id)).status == "queued"
    await deliver_outbox(api)
    [sent] = graph.sent
    assert sent["phone_number_id"] == "100000000000001"
    assert sent["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CLIENT[1:],
        "type": "text",
        "text": {"body": "Thanks! What would you like?", "preview_url": False},
    }
    row = await _row(db, message_id)
    assert (row.status, row.provider_message_id, row.kind, row.direction) == (
        "sent",
        sent["id"],
        "text",
        "out",
    )
    statuses = [
        {"id": sent["id"], "status": s, "timestamp": str(now_ts() + i), "recipient_id": CLIENT[1:]}
        for i, s in enumerate(["delivered", "read"])
    ]
    late_sent = {"id": sent["id"], "status": "sent", "timestamp": str(now_ts() + 5)}
    r = await post_signed(api, envelope(statuses=[statuses[1], late_sent, statuses[0]]))
    assert r.json() == {"received": True, "status": 3}
    assert (await _row(db, message_id)).status == "read"


async def test_buttons_inside_the_window(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    await _open_window(api)
    buttons = [{"id": "slot-1", "title": "Tue 3 pm"}, {"id": "slot-2", "title": "Wed 10 am"}]
    await _send(db, studio, "slots", text="Pick a time", buttons=buttons)
    await deliver_outbox(api)
    [sent] = graph.sent
    assert sent["body"]["type"] == "interactive"
    assert sent["body"]["interactive"]["action"]["buttons"][1] == {
        "type": "reply",
        "reply": {"id": "slot-2", "title": "Wed 10 am"},
    }


async def test_template_outside_the_window(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    message_id = await _send(
        db, studio, "nudge", text="Still keen?", purpose="follow_up", template_params=["Ava"]
    )
    await deliver_outbox(api)
    [sent] = graph.sent
    assert sent["body"]["type"] == "template"
    assert sent["body"]["template"] == {
        "name": "inkwell_follow_up",
        "language": {"code": "en"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ava"}]}],
    }
    row = await _row(db, message_id)
    assert (row.status, row.kind, row.provider_message_id) == ("sent", "template", sent["id"])


async def test_no_template_for_the_purpose_outside_the_window_is_dead(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    message_id = await _send(db, studio, "odd", text="Hi", purpose="birthday")
    await deliver_outbox(api)
    assert graph.sent == []
    [queued] = await _sends(db)
    assert queued.status == "dead"
    assert "no approved template for purpose 'birthday'" in str(queued.last_error)
    row = await _row(db, message_id)
    assert row.status == "failed"
    assert "window" in str(row.error)


async def test_meta_4xx_is_final_and_5xx_retried(
    api: httpx.AsyncClient, db: Database, studio: uuid.UUID, graph: FakeGraph
) -> None:
    await _open_window(api)
    graph.failures.append(meta_error(400, "Recipient phone number not in allowed list", 131030))
    refused = await _send(db, studio, "refused", text="one")
    await deliver_outbox(api)
    [dead] = await _sends(db)
    assert dead.status == "dead"
    assert "Recipient phone number not in allowed list" in str(dead.last_error)
    row = await _row(db, refused)
    assert (row.status, row.error) == (
        "failed",
        "Recipient phone number not in allowed list (code 131030)",
    )

    graph.failures.append(meta_error(503, "Service temporarily unavailable", 2))
    retried = await _send(db, studio, "retried", text="two")
    await deliver_outbox(api)
    queued = next(m for m in await _sends(db) if m.payload == {"message_id": str(retried)})
    if queued.status != "done":  # the backoff had not passed within the first run
        await deliver_outbox(api)
        queued = next(m for m in await _sends(db) if m.id == queued.id)
    assert (queued.status, queued.attempts) == ("done", 2)
    assert "503" in str(queued.history[0])
    [sent] = graph.sent
    assert (await _row(db, retried)).provider_message_id == sent["id"]


async def test_pilot_allowlist_and_dry_run(
    db_url: str, db: Database, studio: uuid.UUID, graph: FakeGraph, tmp_path: Path
) -> None:
    settings = wa_settings(db_url, tmp_path, graph, whatsapp_pilot_numbers="+15551230001")
    async with app_client(settings) as api:
        await _open_window(api)
        await _open_window(api, "+15559990000")
        pilot = await _send(db, studio, "pilot", text="hi pilot")
        other = await _send(db, studio, "other", to="+15559990000", text="hi other")
        await deliver_outbox(api)
    assert [s["body"]["to"] for s in graph.sent] == ["15551230001"]
    assert (await _row(db, pilot)).status == "sent"
    skipped = await _row(db, other)
    assert skipped.status == "skipped"
    assert "pilot" in str(skipped.error)
    assert sorted(m.status for m in await _sends(db)) == ["done", "skipped"]

    dry = wa_settings(db_url, tmp_path, graph, whatsapp_dry_run=True)
    async with app_client(dry) as api:
        rehearsed = await _send(db, studio, "dry", text="just practising")
        await deliver_outbox(api)
    assert len(graph.sent) == 1
    row = await _row(db, rehearsed)
    assert (row.status, row.provider_message_id) == ("dry_run", None)
    assert row.payload["request"]["text"] == {"body": "just practising", "preview_url": False}
