"""Intake's parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.domains.intake import handlers, models
from servio.domains.intake.service import EMAIL_TEMPLATES
from servio.platform.manifest import Core, Manifest
from servio.platform.outbox import OutboxRegistry


def routers() -> Sequence[APIRouter]:
    from servio.domains.intake import router, router_admin

    return (router.router, router_admin.router)


def register_handlers(needs: Core, registry: OutboxRegistry) -> None:
    handlers.register_handlers(registry, needs.db)


MANIFEST: Manifest[Core] = Manifest(
    name="intake",
    models=models,
    routers=routers,
    handlers=register_handlers,
    email_templates=EMAIL_TEMPLATES,
)
