"""Every outbox kind's handler, registered in one place when the container is built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servio.domains.actions import tasks as action_tasks
from servio.domains.catalog.service import Catalog
from servio.domains.conversations import channels as conversation_channels
from servio.domains.conversations import service as conversation_service
from servio.domains.intake import tasks as intake_tasks
from servio.domains.messaging import tasks as messaging_tasks
from servio.domains.payments import tasks as payment_tasks
from servio.domains.webhooks import tasks as webhook_tasks
from servio.domains.webhooks.config import WebhooksConfig
from servio.platform.webhooks_out import Sender
from servio.web.stripe import payment_gateway
from servio.web.whatsapp import whatsapp_config

if TYPE_CHECKING:
    from servio.web.container import Container


def register_outbox_handlers(container: Container) -> None:
    """Give the container's outbox registry the handler of each kind domains queue."""
    webhooks = WebhooksConfig.from_settings(container.settings)
    sender = Sender(webhooks.policy)  # its connections are kept until the container closes
    container.on_close.append(sender.aclose)
    webhook_tasks.register_handlers(container.outbox, container.db, webhooks, sender)
    intake_tasks.register_handlers(container.outbox, container.db)
    action_tasks.register_handlers(container.outbox, container.db, container.settings)
    payment_tasks.register_handlers(
        container.outbox, container.db, payment_gateway(container.settings)
    )
    messaging_tasks.register_handlers(
        container.outbox, container.db, whatsapp_config(container.settings, container.on_close)
    )
    prices = Catalog(container.settings.verticals_dir)
    checkout = conversation_service.Checkout(
        prices=prices,
        gateway=payment_gateway(container.settings),
        public_url=container.settings.public_url,
    )
    conversation_channels.register_handlers(container.outbox, container.db, prices, checkout)
