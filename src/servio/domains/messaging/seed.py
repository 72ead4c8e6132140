"""The tattoo studio's WhatsApp number and approved templates, for the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.messaging import service
from servio.platform.config import Settings

ORG = "inkwell-tattoo"
PHONE_NUMBER_ID = "100000000000001"
TEMPLATES: dict[str, Any] = {
    "default": {"name": "inkwell_follow_up", "language": "en"},
    "follow_up": {"name": "inkwell_follow_up", "language": "en"},
    "reminder": {"name": "inkwell_appointment_reminder", "language": "en"},
    "deposit": {"name": "inkwell_deposit_request", "language": "en"},
}


async def seed_demo_whatsapp(session: AsyncSession, _settings: Settings) -> dict[str, Any]:
    """Give the studio its WhatsApp phone number id and templates; idempotent."""
    org = await identity.get_org_by_slug(session, ORG)
    await identity.put_setting(session, org.id, service.PHONE_NUMBER_SETTING, PHONE_NUMBER_ID)
    await identity.put_setting(session, org.id, service.TEMPLATES_SETTING, TEMPLATES)
    return {"org": ORG, "phone_number_id": PHONE_NUMBER_ID, "templates": sorted(TEMPLATES)}
