"""Demo businesses named in the API contract; later domains add their demo data."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service

DEMO_ORGS = (
    {
        "slug": "sparkle-clean",
        "name": "Sparkle Clean",
        "vertical": "cleaning",
        "timezone": "America/Edmonton",
        "currency": "CAD",
        "settings": {"tax.rate_bps": 500, "tax.name": "GST"},
    },
    {
        "slug": "inkwell-tattoo",
        "name": "Inkwell Tattoo",
        "vertical": "tattoo",
        "timezone": "America/Edmonton",
        "currency": "CAD",
        "settings": {"whatsapp.phone_number_id": "100000000000001"},
    },
)


async def seed_demo_orgs(session: AsyncSession) -> list[str]:
    """Create the demo orgs and their settings; idempotent."""
    slugs = []
    for spec in DEMO_ORGS:
        org = await service.ensure_org(
            session,
            slug=str(spec["slug"]),
            name=str(spec["name"]),
            vertical=str(spec["vertical"]),
            timezone=str(spec["timezone"]),
            currency=str(spec["currency"]),
        )
        settings = spec["settings"]
        assert isinstance(settings, dict)
        for key, value in settings.items():
            await service.put_setting(session, org.id, key, value)
        slugs.append(org.slug)
    return slugs
