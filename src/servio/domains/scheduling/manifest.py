"""Scheduling's parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.domains.scheduling import models
from servio.domains.scheduling.seed import seed_demo_resources
from servio.platform.manifest import Core, Manifest


def routers() -> Sequence[APIRouter]:
    from servio.domains.scheduling import router, router_availability

    return (router.router, router_availability.router)


MANIFEST: Manifest[Core] = Manifest(
    name="scheduling",
    models=models,
    routers=routers,
    seeders=(("demo resources", seed_demo_resources),),
)
