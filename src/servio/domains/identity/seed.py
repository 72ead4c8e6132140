"""Demo businesses named in the API contract; later domains add their demo data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service
from servio.domains.identity.models import Membership, User
from servio.domains.identity.permissions import Role
from servio.platform.config import Settings
from servio.platform.db.scoped import owned
from servio.platform.security.passwords import hash_password

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


async def seed_demo_orgs(session: AsyncSession, _settings: Settings) -> list[str]:
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


async def seed_demo_logins(session: AsyncSession, settings: Settings) -> list[str]:
    """An OWNER per demo business, ``owner@<slug>.example.com`` with the demo password."""
    emails = []
    password_hash = hash_password(settings.demo_password.get_secret_value())
    for spec in DEMO_ORGS:
        org = await service.get_org_by_slug(session, str(spec["slug"]))
        email = f"owner@{org.slug}.example.com"
        user = await session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, password_hash=password_hash, verified=True)
            session.add(user)
            await session.flush()
        member = await session.scalar(
            owned(Membership, org.id).where(Membership.user_id == user.id)
        )
        if member is None:
            session.add(Membership(org_id=org.id, user_id=user.id, role=Role.OWNER.value))
        emails.append(email)
    await session.flush()
    return emails
