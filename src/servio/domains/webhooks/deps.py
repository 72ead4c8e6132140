"""Dependencies of the webhook routers: the deployment's webhooks config."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request

from servio.domains.webhooks.config import WebhooksConfig
from servio.platform.http.services import provided


class WebhooksServices(Protocol):
    @property
    def webhooks_config(self) -> WebhooksConfig: ...


def webhooks_config(request: Request) -> WebhooksConfig:
    return cast(WebhooksServices, provided(request)).webhooks_config


Config = Annotated[WebhooksConfig, Depends(webhooks_config)]
