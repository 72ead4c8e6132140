"""Messaging's parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter

from servio.domains.messaging import handlers, models
from servio.domains.messaging.handlers import WhatsAppConfig
from servio.domains.messaging.seed import seed_demo_whatsapp
from servio.platform.manifest import Core, Manifest
from servio.platform.outbox import OutboxRegistry


class Needs(Core, Protocol):
    @property
    def whatsapp(self) -> WhatsAppConfig: ...


def routers() -> Sequence[APIRouter]:
    from servio.domains.messaging import router

    return (router.router,)


def register_handlers(needs: Needs, registry: OutboxRegistry) -> None:
    handlers.register_handlers(registry, needs.db, needs.whatsapp)


MANIFEST: Manifest[Needs] = Manifest(
    name="messaging",
    models=models,
    routers=routers,
    handlers=register_handlers,
    seeders=(("demo whatsapp", seed_demo_whatsapp),),
)
