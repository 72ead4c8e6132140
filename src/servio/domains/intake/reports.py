"""What an operator reads about the org's leads: the newest ones, and the funnel of the
last days from new lead to booking, beside the same for conversation stages."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import service as conversations
from servio.domains.intake import service as intake
from servio.domains.intake.schemas import FunnelOut, LeadOut, LeadsOut
from servio.platform.db import utcnow


async def newest_leads(s: AsyncSession, org_id: uuid.UUID, limit: int) -> LeadsOut:
    """The org's ``limit`` newest leads, newest first."""
    stmt = intake.after(intake.readable(org_id), None).limit(limit)
    items = [LeadOut.model_validate(r, from_attributes=True) for r in await s.scalars(stmt)]
    return LeadsOut(items=items, count=len(items))


async def lead_funnel(s: AsyncSession, org_id: uuid.UUID, days: int) -> FunnelOut:
    """Where the leads created in the last ``days`` days stand now, with the conversion
    of each step along NEW → CONTACTED → QUOTED → BOOKED, and the conversations begun
    in the same days by stage."""
    since = utcnow() - timedelta(days=days)
    counts = await intake.status_counts(s, org_id, since)
    return FunnelOut(
        days=days,
        counts=counts,
        total=sum(counts.values()),
        steps=intake.funnel_steps(counts, intake.LEAD_PATH),
        conversations=await conversations.stage_funnel(s, org_id, since),
    )
