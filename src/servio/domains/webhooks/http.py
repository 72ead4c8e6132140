"""HTTP helpers of the webhook routers: the webhooks config of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from servio.domains.webhooks.config import WebhooksConfig


def webhooks_config(request: Request) -> WebhooksConfig:
    config: WebhooksConfig = request.app.state.webhooks_config
    return config


Config = Annotated[WebhooksConfig, Depends(webhooks_config)]
