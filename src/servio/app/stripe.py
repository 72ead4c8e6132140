"""Which Stripe the deployment talks to: the real one when a key is set, the local
checkout stand-in (``SERVIO_STRIPE_DEV_CHECKOUT``, mounted under ``/dev/stripe``, its
sessions kept under ``var_dir``) for demos and tests, or none (deposits are then taken
by staff)."""

from __future__ import annotations

from servio.integrations.stripe_gateway import StripeGateway
from servio.platform.config import Settings

DEV_PATH = "/dev/stripe"
DEV_API_KEY = "sk_test_dev_checkout"
DEV_WEBHOOK_SECRET = "whsec_dev_checkout"  # noqa: S105 - the stand-in's own, public by design


def dev_base(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + DEV_PATH


def payment_gateway(settings: Settings) -> StripeGateway | None:
    if settings.stripe_api_key is not None:
        secret = settings.stripe_webhook_secret
        return StripeGateway(
            settings.stripe_api_key.get_secret_value(),
            secret.get_secret_value() if secret else None,
            settings.stripe_api_base,
        )
    if settings.stripe_dev_checkout:
        return StripeGateway(DEV_API_KEY, DEV_WEBHOOK_SECRET, dev_base(settings))
    return None
