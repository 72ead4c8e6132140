"""The message store every channel shares: contacts, messages in and out, the
customer-service window, and sending through the outbox.

Other domains (the conversation engine first) call ``send`` and read contacts here;
inbound messages reach them as outbox messages of kind ``conversation.inbound``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.messaging.models import ChannelContact, ChannelMessage
from servio.domains.messaging.whatsapp import CHANNEL as WHATSAPP
from servio.platform import outbox
from servio.platform.db import utcnow
from servio.platform.db.conflicts import insert_if_absent
from servio.platform.db.scoped import in_org, owned
from servio.platform.errors import DomainError

__all__ = [
    "CONVERSATION_INBOUND",
    "SEND",
    "WHATSAPP",
    "WINDOW",
    "ChannelContact",
    "ChannelMessage",
    "contact",
    "in_window",
    "send",
    "set_opted_out",
]

SEND = "whatsapp.send"
FETCH_MEDIA = "whatsapp.media"
CONVERSATION_INBOUND = "conversation.inbound"
WINDOW = timedelta(hours=24)
PHONE_NUMBER_SETTING = "whatsapp.phone_number_id"
TEMPLATES_SETTING = "whatsapp.templates"
DEFAULT_PURPOSE = "default"


class InvalidMessage(DomainError):
    status = 422
    type = "invalid-message"
    title = "The message cannot be sent"
    description = "A message needs a recipient and exactly one of text or a template."


class UnknownChannel(DomainError):
    status = 422
    type = "unknown-channel"
    title = "No such channel"


def in_window(contact: ChannelContact | None, now: datetime | None = None) -> bool:
    """Whether free-form messages may go to the contact: it wrote within 24 hours."""
    if contact is None or contact.last_inbound_at is None:
        return False
    return (now or utcnow()) - contact.last_inbound_at < WINDOW


async def contact(
    session: AsyncSession, org_id: uuid.UUID, channel: str, address: str
) -> ChannelContact | None:
    return await session.scalar(
        owned(ChannelContact, org_id).where(
            ChannelContact.channel == channel,
            ChannelContact.address == address,
        )
    )


async def ensure_contact(
    session: AsyncSession, org_id: uuid.UUID, channel: str, address: str
) -> ChannelContact:
    """The contact, created if new (concurrent first messages create it once)."""
    await insert_if_absent(
        session,
        ChannelContact.__table__,  # type: ignore[arg-type]
        {
            "id": uuid.uuid4(),
            "org_id": org_id,
            "channel": channel,
            "address": address,
            "opted_out": False,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        },
        ["org_id", "channel", "address"],
    )
    row = await session.scalar(
        owned(ChannelContact, org_id)
        .where(
            ChannelContact.channel == channel,
            ChannelContact.address == address,
        )
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def contact_ordering_key(org_id: uuid.UUID, channel: str, address: str) -> str:
    """The outbox ordering key of a contact's inbound messages: the conversation engine
    receives them one at a time, in the channel's order."""
    return f"contact:{org_id}:{channel}:{address}"[:200]


async def set_opted_out(
    session: AsyncSession, org_id: uuid.UUID, channel: str, address: str, opted_out: bool
) -> ChannelContact:
    """STOP / START: whether automated messages may go to the contact."""
    row = await ensure_contact(session, org_id, channel, address)
    row.opted_out = opted_out
    await session.flush()
    return row


async def org_for_phone_number(session: AsyncSession, phone_number_id: str) -> uuid.UUID | None:
    """The business whose ``whatsapp.phone_number_id`` setting is this number's id."""
    if not phone_number_id:
        return None
    orgs = await identity.orgs_with_setting(session, PHONE_NUMBER_SETTING, phone_number_id)
    return orgs[0] if len(orgs) == 1 else None


def _content(
    text: str | None,
    template: tuple[str, str, list[str]] | None,
    buttons: list[dict[str, str]] | None,
    choices: dict[str, Any] | None,
) -> tuple[str, dict[str, Any]]:
    if (text is None) == (template is None):
        raise InvalidMessage("Give either text or a template.")
    if template is not None:
        if buttons or choices:
            raise InvalidMessage("A template carries no buttons or list of its own.")
        name, language, params = template
        return "template", {"template": {"name": name, "language": language, "params": params}}
    if buttons and choices:
        raise InvalidMessage("Give buttons or a list, not both.")
    if buttons:
        if not all(b.get("id") and b.get("title") for b in buttons):
            raise InvalidMessage("Each button needs an id and a title.")
        return "interactive", {"buttons": buttons}
    if choices:
        if not choices.get("sections"):
            raise InvalidMessage("A list needs sections of rows.")
        return "interactive", {"list": choices}
    return "text", {}


async def send(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    channel: str = WHATSAPP,
    to: str,
    dedupe_key: str,
    text: str | None = None,
    template: tuple[str, str, list[str]] | None = None,
    buttons: list[dict[str, str]] | None = None,
    list: dict[str, Any] | None = None,
    purpose: str = DEFAULT_PURPOSE,
    template_params: list[str] | None = None,
) -> ChannelMessage:
    """Queue a message to ``to`` (E.164): stored as ``queued`` and sent by the outbox
    (kind ``whatsapp.send``) after commit. ``dedupe_key`` names the message: queueing it
    again changes nothing. Outside the 24 h window the org's approved template for
    ``purpose`` (setting ``whatsapp.templates``) goes instead, with ``template_params``."""
    if channel != WHATSAPP:
        raise UnknownChannel(f"Messages cannot be sent on {channel!r}.")
    if not to.startswith("+") or not to[1:].isdigit():
        raise InvalidMessage("The recipient must be an E.164 number such as +15551234567.")
    kind, payload = _content(text, template, buttons, list)
    key = f"{SEND}:{org_id}:{dedupe_key}"
    queued = await outbox.add(session, kind=SEND, payload={}, dedupe_key=key, org_id=org_id)
    if queued.payload:  # queued before: the same message
        existing = await session.get(ChannelMessage, uuid.UUID(queued.payload["message_id"]))
        if existing is not None:
            return existing
    message = ChannelMessage(
        org_id=org_id,
        channel=channel,
        contact=to,
        direction="out",
        kind=kind,
        text=text,
        payload=payload | {"purpose": purpose, "template_params": template_params},
        status="queued",
    )
    session.add(message)
    await session.flush()
    queued.payload = {"message_id": str(message.id)}
    await session.flush()
    return message


async def templates_of(session: AsyncSession, org_id: uuid.UUID) -> dict[str, Any]:
    templates = (await identity.settings_of(session, org_id)).whatsapp_templates
    return templates if isinstance(templates, dict) else {}


async def phone_number_of(session: AsyncSession, org_id: uuid.UUID) -> str | None:
    value = (await identity.settings_of(session, org_id)).whatsapp_phone_number_id
    return str(value) if value else None


async def prune_messages(session: AsyncSession, org_id: uuid.UUID, before: datetime) -> int:
    """Delete the org's stored messages (in and out, every channel) created before
    ``before``; returns how many went. Contacts and their opt-outs stay."""
    result = await session.execute(
        delete(ChannelMessage).where(
            in_org(ChannelMessage, org_id), ChannelMessage.created_at < before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
