"""Bookings' parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.domains.bookings import jobs, models
from servio.domains.bookings.emails import EMAIL_TEMPLATES
from servio.domains.bookings.seed import seed_demo_bookings
from servio.platform.manifest import Core, Manifest


def routers() -> Sequence[APIRouter]:
    from servio.domains.bookings import router

    return (router.router,)


MANIFEST: Manifest[Core] = Manifest(
    name="bookings",
    models=models,
    routers=routers,
    jobs=jobs.jobs,
    email_templates=EMAIL_TEMPLATES,
    seeders=(("demo history", seed_demo_bookings),),
)
