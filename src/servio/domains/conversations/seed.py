"""Demo data for the tattoo studio: two artists (Tuesday to Saturday, 11:00 to 19:00)
and two consultations in progress, one on WhatsApp and one in the web chat."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import service
from servio.domains.conversations.models import Conversation
from servio.domains.identity import service as identity
from servio.domains.scheduling import service as scheduling
from servio.platform.config import Settings
from servio.platform.db.scoped import in_org

SLUG = "inkwell-tattoo"
ARTISTS = ("Mara Lind", "Jun Okafor")
HOURS = {day: [(time(11), time(19))] for day in range(1, 6)}
CONVERSATIONS = (
    ("whatsapp", "+15875550101", ("Hi!", "A fine-line swallow", "left wrist", "small")),
    ("web", "demo-web-chat-0001", ("Hello", "A koi fish sleeve", "right arm", "sleeve", "4")),
)


async def seed_demo_studio(session: AsyncSession, _settings: Settings) -> list[str]:
    org = await identity.get_org_by_slug(session, SLUG)
    have = {r.name for r in await scheduling.list_resources(session, org.id)}
    for artist in ARTISTS:
        if artist not in have:
            await scheduling.add_resource(session, org.id, artist, "artist", HOURS)
    seeded = []
    for channel, contact, messages in CONVERSATIONS:
        exists = await session.scalar(
            select(Conversation.id).where(
                in_org(Conversation, org.id),
                Conversation.channel == channel,
                Conversation.contact == contact,
            )
        )
        if exists is None:
            for text in messages:
                await service.converse(session, org.id, channel, contact, text)
        seeded.append(f"{SLUG}/{channel}/{contact}")
    return seeded
