"""Orgs: creation is idempotent by slug, and bad details are refused with the reason."""

from __future__ import annotations

import pytest

from servio.domains.identity import service
from servio.domains.identity.seed import seed_demo_orgs
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.support.orgs import add_org


async def test_demo_orgs_are_seeded_once(db: Database, settings: Settings) -> None:
    async with db.unit_of_work(system=True) as session:
        assert await seed_demo_orgs(session, settings) == ["sparkle-clean", "inkwell-tattoo"]
    async with db.unit_of_work(system=True) as session:
        await seed_demo_orgs(session, settings)
        clean = await service.get_org_by_slug(session, "sparkle-clean")
        org_settings = await service.org_settings(session, clean.id)
    assert (clean.timezone, clean.currency, clean.vertical) == (
        "America/Edmonton",
        "CAD",
        "cleaning",
    )
    assert org_settings == {"tax.rate_bps": 500, "tax.name": "GST"}
    assert clean.created_at.tzinfo is not None


async def test_unknown_slug_is_a_404_problem(db: Database) -> None:
    async with db.unit_of_work() as session:
        with pytest.raises(service.OrgNotFound) as caught:
            await service.get_org_by_slug(session, "nobody")
    assert caught.value.status == 404
    assert caught.value.type == "org-not-found"


@pytest.mark.parametrize(
    ("slug", "timezone", "currency", "reason"),
    [
        ("Bad Slug", "UTC", "CAD", "Slug"),
        ("ok-slug", "Mars/Olympus", "CAD", "time zone"),
        ("ok-slug", "UTC", "cad", "ISO 4217"),
    ],
)
async def test_invalid_org_details_are_refused(
    db: Database, slug: str, timezone: str, currency: str, reason: str
) -> None:
    async with db.unit_of_work(system=True) as session:
        with pytest.raises(service.InvalidOrg, match=reason):
            await service.ensure_org(
                session,
                slug=slug,
                name="X",
                vertical="cleaning",
                timezone=timezone,
                currency=currency,
            )


async def test_setting_versions_increase_only_on_change(db: Database) -> None:
    async with db.unit_of_work(system=True) as session:
        org = await add_org(session, "vers")
        first = await service.put_setting(session, org.id, "hours", {"mon": "09-18"})
        assert first.version == 1
        same = await service.put_setting(session, org.id, "hours", {"mon": "09-18"})
        assert same.version == 1
        changed = await service.put_setting(session, org.id, "hours", {"mon": "10-18"})
        assert changed.version == 2
