"""Conversations' parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter

from servio.domains.conversations import channels, jobs, models
from servio.domains.conversations.deposits import Checkout
from servio.domains.conversations.panic import EMAIL_TEMPLATES
from servio.domains.conversations.seed import seed_demo_studio
from servio.platform.manifest import Core, Manifest
from servio.platform.outbox import OutboxRegistry


class Needs(Core, Protocol):
    @property
    def checkout(self) -> Checkout: ...


def routers() -> Sequence[APIRouter]:
    from servio.domains.conversations import router, router_admin

    return (router.router, router_admin.router)


def register_handlers(needs: Needs, registry: OutboxRegistry) -> None:
    checkout = needs.checkout
    channels.register_handlers(registry, needs.db, checkout.prices, checkout)


MANIFEST: Manifest[Needs] = Manifest(
    name="conversations",
    models=models,
    routers=routers,
    handlers=register_handlers,
    jobs=jobs.jobs,
    email_templates=EMAIL_TEMPLATES,
    seeders=(("demo tattoo studio", seed_demo_studio),),
)
