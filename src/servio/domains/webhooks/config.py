"""What webhooks need from the deployment's settings, resolved once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from servio.platform.config import Settings
from servio.platform.webhooks_out import SendPolicy


@dataclass(frozen=True)
class WebhooksConfig:
    policy: SendPolicy
    secret_grace: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhooksConfig:
        # Plain http and private targets are development conveniences; production
        # refuses SERVIO_WEBHOOKS_ALLOW_PRIVATE at startup, and never allows http.
        production = settings.env == "prod"
        return cls(
            policy=SendPolicy(
                allow_private=settings.webhooks_allow_private and not production,
                allow_http=not production,
                connect_timeout=settings.webhook_connect_timeout_seconds,
                read_timeout=settings.webhook_read_timeout_seconds,
            ),
            secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
        )
