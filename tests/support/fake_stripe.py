"""Stripe's API for tests: the same local stand-in ``servio demo`` uses (Checkout
Sessions answered like Stripe, events signed with Stripe's own scheme), served on a
real port, and a signed delivery to the app's webhook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from servio.integrations.stripe_dev import DevStripe as FakeStripe
from servio.integrations.stripe_dev import counting_ids, event, sign
from tests.support.live import serve

__all__ = ["FakeStripe", "event", "post_event", "served", "sign"]


@contextmanager
def served() -> Iterator[tuple[FakeStripe, str]]:
    """A fake Stripe on a local port; yields it and its base URL (``stripe_api_base``).
    Its ids are numbered (``cs_test_1``, ``cs_test_2``…) so that tests can name them."""
    fake = FakeStripe(ids=counting_ids())
    with serve(fake.app) as url:
        yield fake, url


async def post_event(api: httpx.AsyncClient, payload: bytes, secret: str) -> httpx.Response:
    """Deliver ``payload`` to ``/v1/stripe/webhook`` signed as Stripe signs it."""
    return await api.post(
        "/v1/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"},
    )
