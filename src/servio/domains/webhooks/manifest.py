"""Outbound webhooks' parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter

from servio.domains.webhooks import handlers, models
from servio.domains.webhooks.config import WebhooksConfig
from servio.platform.manifest import Core, Manifest
from servio.platform.outbox import OutboxRegistry
from servio.platform.webhooks_out import Sender


class Needs(Core, Protocol):
    @property
    def webhooks_config(self) -> WebhooksConfig: ...


def routers() -> Sequence[APIRouter]:
    from servio.domains.webhooks import router, router_admin

    return (router.router, router_admin.router)


def register_handlers(needs: Needs, registry: OutboxRegistry) -> None:
    config = needs.webhooks_config
    sender = Sender(config.policy)  # its connections are kept until the container closes
    needs.on_close.append(sender.aclose)
    handlers.register_handlers(registry, needs.db, config, sender)


MANIFEST: Manifest[Needs] = Manifest(
    name="webhooks", models=models, routers=routers, handlers=register_handlers
)
