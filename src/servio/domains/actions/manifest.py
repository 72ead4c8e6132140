"""Action links' parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.domains.actions import handlers, models
from servio.domains.actions.handlers import EMAIL_TEMPLATES
from servio.platform.manifest import Core, Manifest
from servio.platform.outbox import OutboxRegistry


def routers() -> Sequence[APIRouter]:
    from servio.domains.actions import pages, router

    return (router.router, pages.router)


def register_handlers(needs: Core, registry: OutboxRegistry) -> None:
    handlers.register_handlers(registry, needs.db, needs.settings)


MANIFEST: Manifest[Core] = Manifest(
    name="actions",
    models=models,
    routers=routers,
    handlers=register_handlers,
    email_templates=EMAIL_TEMPLATES,
)
