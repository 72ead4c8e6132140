"""``servio seed demo``: each domain's demo data, in order, idempotent."""

from __future__ import annotations

from typing import Any

from rich.progress import Progress

from servio.app.domains import manifests
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.manifest import Manifest, Seeder


def demo_seeders(domains: tuple[Manifest[Any], ...] | None = None) -> list[tuple[str, Seeder]]:
    """Each domain's seeders, in the domains' order. A seeder named "demo logins"
    returns the emails `servio demo` prints with the demo password."""
    return [pair for m in (manifests() if domains is None else domains) for pair in m.seeders]


class DemoSeedRefused(Exception):
    pass


async def seed_demo(
    settings: Settings,
    *,
    show_progress: bool = True,
    domains: tuple[Manifest[Any], ...] | None = None,
) -> dict[str, Any]:
    """Run every demo seeder in one transaction; refuses in production."""
    seeders = demo_seeders(domains)
    if settings.env == "prod":
        raise DemoSeedRefused("the demo seed never runs with SERVIO_ENV=prod")
    db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
    results: dict[str, Any] = {}
    try:
        async with db.unit_of_work(system=True) as session:
            with Progress(disable=not show_progress, transient=True) as progress:
                task = progress.add_task("Seeding demo data", total=len(seeders))
                for name, seeder in seeders:
                    progress.update(task, description=f"Seeding {name}")
                    results[name] = await seeder(session, settings)
                    progress.advance(task)
    finally:
        await db.dispose()
    return results
