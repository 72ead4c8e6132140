"""How the deployment talks to WhatsApp: the Graph API client (when an access token is
set), the pilot allowlist and dry-run mode, all from settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from servio.domains.messaging.handlers import WhatsAppConfig
from servio.domains.messaging.whatsapp import e164
from servio.integrations.whatsapp_graph import GraphClient
from servio.platform.config import Settings
from servio.platform.outbox.http import HttpClients

TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)


def whatsapp_config(
    settings: Settings, on_close: list[Callable[[], Awaitable[object]]]
) -> WhatsAppConfig:
    graph = None
    if settings.whatsapp_access_token is not None:
        http = HttpClients(timeout=TIMEOUT)
        on_close.append(http.aclose)
        graph = GraphClient(
            settings.whatsapp_api_base,
            settings.whatsapp_access_token.get_secret_value(),
            http,
        )
    return WhatsAppConfig(
        sender=graph,
        var_dir=settings.var_dir,
        dry_run=settings.whatsapp_dry_run,
        pilot_numbers=frozenset(e164(n) for n in settings.whatsapp_pilot_numbers if n.strip()),
    )
