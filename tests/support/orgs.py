"""Create orgs for tests through the real service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service
from servio.domains.identity.models import Org


async def add_org(
    session: AsyncSession,
    slug: str,
    *,
    vertical: str = "cleaning",
    timezone: str = "America/Edmonton",
    currency: str = "CAD",
) -> Org:
    return await service.ensure_org(
        session,
        slug=slug,
        name=slug.replace("-", " ").title(),
        vertical=vertical,
        timezone=timezone,
        currency=currency,
    )
