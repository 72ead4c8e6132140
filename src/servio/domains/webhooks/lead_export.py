"""The lead export: each new lead is sent, signed, to the CRM URL the org configured
(org settings ``crm.webhook_url`` and ``crm.webhook_secret``), from the outbox. Exports
that keep failing land in the dead letter, which admins list and replay once the CRM
is fixed; the export dead letter is a view over the outbox, not a table of its own.
Other domains queue an export with ``service.queue_lead_export``."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.webhooks.config import WebhooksConfig
from servio.domains.webhooks.service import LEAD_EXPORT_KIND, vetted_url
from servio.platform.db.scoped import in_org
from servio.platform.outbox import admin as outbox_admin
from servio.platform.outbox.models import OutboxMessage
from servio.platform.webhooks_out import new_secret

URL_SETTING = "crm.webhook_url"
SECRET_SETTING = "crm.webhook_secret"  # noqa: S105 - the name of a setting


async def configure_lead_export(
    session: AsyncSession, org_id: uuid.UUID, url: str, config: WebhooksConfig
) -> tuple[str, str]:
    """Point lead exports at ``url`` (vetted like a subscriber URL); a secret is made
    on first use and kept after. Returns (url, secret)."""
    url = await vetted_url(url, config)
    current = await identity.org_settings(session, org_id)
    secret = current.get(SECRET_SETTING) or new_secret()
    await identity.put_setting(session, org_id, URL_SETTING, url)
    await identity.put_setting(session, org_id, SECRET_SETTING, secret)
    return url, str(secret)


async def lead_export_target(
    session: AsyncSession, org_id: uuid.UUID
) -> tuple[str | None, str | None]:
    """The org's CRM URL and secret (None where not configured)."""
    current = await identity.org_settings(session, org_id)
    url, secret = current.get(URL_SETTING), current.get(SECRET_SETTING)
    return (str(url) if url else None, str(secret) if secret else None)


async def dead_exports(
    session: AsyncSession, org_id: uuid.UUID, *, cursor: str | None, limit: int
) -> outbox_admin.Page:
    """The org's lead exports that ran out of attempts, most recently failed first."""
    return await outbox_admin.dead_letters(
        session, org_id, kind=LEAD_EXPORT_KIND, cursor=cursor, limit=limit
    )


async def replay_export(
    session: AsyncSession, org_id: uuid.UUID, message_id: uuid.UUID, actor: str
) -> OutboxMessage:
    """Send a dead lead export again from scratch (history kept); 404 unless it is a
    lead export of the org, 409 unless it is dead."""
    kind = await session.scalar(
        select(OutboxMessage.kind).where(
            OutboxMessage.id == message_id, in_org(OutboxMessage, org_id)
        )
    )
    if kind != LEAD_EXPORT_KIND:
        raise outbox_admin.MessageNotFound("No lead export with this id in this business.")
    return await outbox_admin.replay(session, org_id, message_id, actor=actor)
