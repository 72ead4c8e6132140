"""Stripe through its official SDK: Checkout Sessions for deposits and verified webhook
events. ``api_base`` points the SDK at another host (tests run a local fake)."""

from __future__ import annotations

from typing import Any

import stripe

from servio.domains.payments.gateway import (
    Checkout,
    GatewayRefused,
    GatewayUnavailable,
    InvalidSignature,
)


def _failure(what: str, exc: stripe.StripeError) -> GatewayUnavailable | GatewayRefused:
    """No answer, a timeout, a rate limit or a server error is worth a retry; any other
    refusal is not."""
    transient = isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError))
    if transient or isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
        return GatewayUnavailable(f"Stripe could not {what}: {exc.user_message or exc}")
    return GatewayRefused(f"Stripe refused to {what}: {exc.user_message or exc}")


class StripeGateway:
    def __init__(
        self, api_key: str, webhook_secret: str | None, api_base: str | None = None
    ) -> None:
        addresses: dict[str, str] = {"api": api_base} if api_base else {}
        self.client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            http_client=stripe.HTTPXClient(timeout=10),
            max_network_retries=2,
        )
        self.webhook_secret = webhook_secret

    async def create_checkout(
        self,
        *,
        amount_cents: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        metadata: dict[str, str],
        customer_email: str,
        reference: str,
    ) -> Checkout:
        params: dict[str, Any] = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_cents,
                        "product_data": {"name": description},
                    },
                }
            ],
        }
        if customer_email:  # a contact reached on WhatsApp may have none
            params["customer_email"] = customer_email
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _failure("open the checkout", exc) from exc
        return Checkout(session_id=str(session.id), url=str(session.url))

    async def refund(
        self, *, payment_intent_id: str, amount_cents: int, idempotency_key: str
    ) -> str:
        try:
            refund = await self.client.v1.refunds.create_async(
                params={"payment_intent": payment_intent_id, "amount": amount_cents},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _failure("refund", exc) from exc
        return str(refund.id)

    def parse_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        if not self.webhook_secret:
            raise InvalidSignature(
                "Stripe webhooks are not configured (SERVIO_STRIPE_WEBHOOK_SECRET)."
            )
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise InvalidSignature("The Stripe-Signature does not match the body.") from exc
        return event.to_dict()  # type: ignore[no-any-return]
