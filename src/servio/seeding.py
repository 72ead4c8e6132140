"""``servio seed demo``: each domain's demo data, in order, idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings.seed import seed_demo_bookings
from servio.domains.conversations.seed import seed_demo_studio
from servio.domains.identity.seed import seed_demo_logins, seed_demo_orgs
from servio.domains.messaging.seed import seed_demo_whatsapp
from servio.domains.scheduling.seed import seed_demo_resources
from servio.platform.config import Settings
from servio.platform.db import Database

Seeder = Callable[[AsyncSession, Settings], Awaitable[Any]]

# Later domains append their seeders here (teams, hours, leads, bookings, ...). A seeder
# named "demo logins" returns the emails `servio demo` prints with the demo password.
DEMO_SEEDERS: list[tuple[str, Seeder]] = [
    ("demo businesses", seed_demo_orgs),
    ("demo logins", seed_demo_logins),
    ("demo resources", seed_demo_resources),
    ("demo history", seed_demo_bookings),
    ("demo whatsapp", seed_demo_whatsapp),
    ("demo tattoo studio", seed_demo_studio),
]


class DemoSeedRefused(Exception):
    pass


async def seed_demo(settings: Settings, *, show_progress: bool = True) -> dict[str, Any]:
    """Run every demo seeder in one transaction; refuses in production."""
    if settings.env == "prod":
        raise DemoSeedRefused("the demo seed never runs with SERVIO_ENV=prod")
    db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
    results: dict[str, Any] = {}
    try:
        async with db.unit_of_work(system=True) as session:
            with Progress(disable=not show_progress, transient=True) as progress:
                task = progress.add_task("Seeding demo data", total=len(DEMO_SEEDERS))
                for name, seeder in DEMO_SEEDERS:
                    progress.update(task, description=f"Seeding {name}")
                    results[name] = await seeder(session, settings)
                    progress.advance(task)
    finally:
        await db.dispose()
    return results
