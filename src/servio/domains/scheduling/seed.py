"""Demo resources: the cleaning company's two teams, Monday to Saturday 09:00 to 18:00."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.scheduling.models import Resource
from servio.domains.scheduling.service import add_resource
from servio.platform.config import Settings
from servio.platform.db.scoped import in_org

WEEK = {day: [(time(9), time(18))] for day in range(6)}
TEAMS = {"sparkle-clean": ("Team A", "Team B")}


async def seed_demo_resources(session: AsyncSession, _settings: Settings) -> list[str]:
    names = []
    for slug, teams in TEAMS.items():
        org = await identity.get_org_by_slug(session, slug)
        await identity.put_setting(session, org.id, "scheduling.buffer_after_minutes", 30)
        for team in teams:
            exists = await session.scalar(
                select(Resource.id).where(in_org(Resource, org.id), Resource.name == team)
            )
            if exists is None:
                await add_resource(session, org.id, team, "team", WEEK)
            names.append(f"{slug}/{team}")
    return names
