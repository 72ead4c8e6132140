"""The local checkout stand-in (``SERVIO_STRIPE_DEV_CHECKOUT``), mounted under
``/dev/stripe`` with its sessions kept under ``var_dir``, for demos and tests."""

from __future__ import annotations

from fastapi import FastAPI

from servio.app.stripe import DEV_PATH, DEV_WEBHOOK_SECRET, dev_base
from servio.integrations.stripe_dev import DevStripe, FileSessions
from servio.platform.config import Settings


def mount_dev_checkout(app: FastAPI, settings: Settings) -> DevStripe | None:
    """Serve the checkout stand-in when asked to and no real Stripe key is set."""
    if not settings.stripe_dev_checkout or settings.stripe_api_key is not None:
        return None
    dev = DevStripe(
        dev_base(settings),
        webhook_url=settings.public_url.rstrip("/") + "/v1/stripe/webhook",
        webhook_secret=DEV_WEBHOOK_SECRET,
        # On disk beside the demo database: a restart still serves the links it emailed.
        store=FileSessions(settings.var_dir / "dev-stripe"),
    )
    app.mount(DEV_PATH, dev.app, name="dev-stripe")
    return dev
