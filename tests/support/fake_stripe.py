"""Stripe's API for tests: the same local stand-in ``servio demo`` uses (Checkout
Sessions answered like Stripe, events signed with Stripe's own scheme)."""

from servio.integrations.stripe_dev import DevStripe as FakeStripe
from servio.integrations.stripe_dev import event, sign

__all__ = ["FakeStripe", "event", "sign"]
