"""Payments' parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter

from servio.domains.payments import handlers, models
from servio.domains.payments.gateway import PaymentGateway
from servio.platform.manifest import Core, Manifest
from servio.platform.outbox import OutboxRegistry


class Needs(Core, Protocol):
    @property
    def gateway(self) -> PaymentGateway | None: ...


def routers() -> Sequence[APIRouter]:
    from servio.domains.payments import pages, router

    return (router.router, pages.router)


def register_handlers(needs: Needs, registry: OutboxRegistry) -> None:
    handlers.register_handlers(registry, needs.db, needs.gateway)


MANIFEST: Manifest[Needs] = Manifest(
    name="payments", models=models, routers=routers, handlers=register_handlers
)
