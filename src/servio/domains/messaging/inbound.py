"""Apply a verified WhatsApp webhook: each message stored once, statuses recorded on
the messages we sent, media fetched and the conversation engine told, through the
outbox after commit (nothing here waits on the network)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.messaging import service
from servio.domains.messaging.models import ChannelMessage
from servio.domains.messaging.whatsapp import CHANNEL, Inbound, StatusUpdate, read_events
from servio.platform import outbox
from servio.platform.db.scoped import owned
from servio.platform.inbox import mark_processed, record_event

log = logging.getLogger(__name__)
PROVIDER = "whatsapp"
MEDIA_REF = "media:"  # an image as the engine knows it: media:<channel message id>
ENGINE_KINDS = {"text", "interactive", "image"}
# Kinds the engine cannot read (audio, video, stickers, documents, locations...): the
# event is acknowledged, kept as rejected and counted, and nothing else happens.
SUPPORTED_KINDS = ENGINE_KINDS
# How far along an outbound message is; a late "sent" never overwrites "read".
STATUS_RANK = {"queued": 0, "dry_run": 1, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


async def reject(session: AsyncSession, body: bytes, reason: str) -> None:
    """Keep a body that could not be read, once, marked rejected with the reason."""
    row, new = await record_event(
        session,
        provider=PROVIDER,
        event_id=f"rejected:{hashlib.sha256(body).hexdigest()[:40]}",
        payload={"raw": body[:4096].decode("utf-8", "replace")},
    )
    if new:
        await mark_processed(session, row, "rejected", reason)


async def apply_webhook(session: AsyncSession, payload: Any) -> dict[str, int]:
    """Process every event of the payload in timestamp order; returns counts by
    outcome (stored, duplicate, status, ignored). Runs in a system session."""
    counts: Counter[str] = Counter()
    orgs: dict[str, uuid.UUID | None] = {}
    for event in read_events(payload):
        pni = event.phone_number_id
        if pni not in orgs:
            orgs[pni] = await service.org_for_phone_number(session, pni)
        org_id = orgs[pni]
        if org_id is None:
            log.warning("whatsapp event for unknown phone_number_id %r ignored", pni)
            counts["ignored"] += 1
            continue
        if isinstance(event, Inbound):
            counts[await _inbound(session, org_id, event)] += 1
        else:
            counts[await _status(session, org_id, event)] += 1
    return dict(counts)


async def _inbound(session: AsyncSession, org_id: uuid.UUID, event: Inbound) -> str:
    row, new = await record_event(
        session, provider=PROVIDER, event_id=event.message_id, payload=event.raw, org_id=org_id
    )
    if not new:
        return "duplicate"
    contact = await service.ensure_contact(session, org_id, CHANNEL, event.sender)
    if event.name:
        contact.name = event.name[:200]
    if contact.last_inbound_at is None or contact.last_inbound_at < event.at:
        contact.last_inbound_at = event.at  # any message opens the window, even one we reject
    if event.kind not in SUPPORTED_KINDS:
        await mark_processed(session, row, "rejected", f"unsupported message type {event.kind!r}")
        return "rejected"
    message = ChannelMessage(
        org_id=org_id,
        channel=CHANNEL,
        contact=event.sender,
        direction="in",
        provider_message_id=event.message_id,
        kind=event.kind,
        text=event.text,
        payload=event.raw | ({"reply_id": event.reply_id} if event.reply_id else {}),
        status="received",
        sent_at=event.at,
    )
    session.add(message)
    await session.flush()
    if event.media_id and event.kind == "image":
        await outbox.add(
            session,
            kind=service.FETCH_MEDIA,
            payload={"message_id": str(message.id), "media_id": event.media_id},
            dedupe_key=f"{service.FETCH_MEDIA}:{event.message_id}",
            org_id=org_id,
        )
    if event.kind in ENGINE_KINDS:
        # One contact's messages reach the engine one at a time, in WhatsApp's order:
        # its timestamp, then (through the dedupe key) the message id.
        await outbox.add(
            session,
            kind=service.CONVERSATION_INBOUND,
            payload={
                "org_id": str(org_id),
                "channel": CHANNEL,
                "contact": event.sender,
                "message_id": str(message.id),
                "provider_message_id": event.message_id,
                "sent_at": event.at.isoformat(),
                "text": event.text,
                "reply_id": event.reply_id,
            }
            | ({"media": [f"{MEDIA_REF}{message.id}"]} if event.kind == "image" else {}),
            dedupe_key=f"{service.CONVERSATION_INBOUND}:{event.message_id}",
            org_id=org_id,
            ordering_key=service.contact_ordering_key(org_id, CHANNEL, event.sender),
            ordering_time=event.at,
        )
    await mark_processed(session, row, "stored")
    return "stored"


async def _status(session: AsyncSession, org_id: uuid.UUID, event: StatusUpdate) -> str:
    row, new = await record_event(
        session,
        provider=PROVIDER,
        event_id=f"status:{event.message_id}:{event.status}"[:255],
        payload=event.raw,
        org_id=org_id,
    )
    if not new:
        return "duplicate"
    message = await session.scalar(
        owned(ChannelMessage, org_id).where(
            ChannelMessage.channel == CHANNEL,
            ChannelMessage.provider_message_id == event.message_id,
        )
    )
    if message is None:
        await mark_processed(session, row, "ignored", "no message with this id was sent")
        return "ignored"
    if STATUS_RANK.get(event.status, 0) >= STATUS_RANK.get(message.status, 0):
        message.status = event.status[:20]
        message.status_at = event.at
        if event.error:
            message.error = event.error
    await mark_processed(session, row, "status")
    return "status"
