"""Stripe's API for tests: the same local stand-in ``servio demo`` uses (Checkout
Sessions answered like Stripe, events signed with Stripe's own scheme), served on a
real port, and a signed delivery to the app's webhook.

The test's fake can also answer slowly (``delay_seconds``) or fail like Stripe does
when it is in trouble (``fail_status``: a 500 with Stripe's error body), and keeps
what it received (``checkout_requests``: the idempotency key and metadata of every
``POST /v1/checkout/sessions``, failed ones included)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

from servio.integrations.stripe_dev import DevStripe, counting_ids, event, sign
from tests.support.live import serve

__all__ = ["CheckoutRequest", "FakeStripe", "event", "post_event", "served", "sign"]


@dataclass(frozen=True)
class CheckoutRequest:
    idempotency_key: str
    booking_id: str
    answered: int  # the HTTP status the fake gave


class FakeStripe(DevStripe):
    def __init__(self, base_url: str = "https://checkout.stripe.test", **options: Any) -> None:
        super().__init__(base_url, **options)
        self.delay_seconds = 0.0
        self.fail_status: int | None = None
        self.checkout_requests: list[CheckoutRequest] = []
        self.waiting = 0  # checkout requests received and not answered yet

    async def create(self, request: Request) -> JSONResponse:
        self.waiting += 1
        try:
            return await self._create(request)
        finally:
            self.waiting -= 1

    async def _create(self, request: Request) -> JSONResponse:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        form = await request.form()
        key = request.headers.get("idempotency-key", "")
        booking_id = str(form.get("metadata[booking_id]", ""))
        if self.fail_status is not None:
            self.checkout_requests.append(CheckoutRequest(key, booking_id, self.fail_status))
            body = {"error": {"type": "api_error", "message": "Stripe is having trouble."}}
            return JSONResponse(body, status_code=self.fail_status)
        answer = await super().create(request)
        self.checkout_requests.append(CheckoutRequest(key, booking_id, answer.status_code))
        return answer


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
